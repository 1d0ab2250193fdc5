"""The catalogue: question banks in the database, imported from YAML, and queries over them."""
