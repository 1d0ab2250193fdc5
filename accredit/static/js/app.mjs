// Start GOV.UK Frontend's components on every page.
import { initAll } from '/static/govuk/govuk-frontend.min.js'

initAll()
