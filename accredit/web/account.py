"""A user's own account: changing their password."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_user
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovPasswordInput, GovSubmitInput
from werkzeug.wrappers import Response
from wtforms import PasswordField, SubmitField
from wtforms.validators import EqualTo, InputRequired

from accredit.accounts import service as accounts
from accredit.accounts.passwords import MIN_LENGTH
from accredit.policy import SIGNED_IN, guard_blueprint

bp = Blueprint("account", __name__, url_prefix="/account")
guard_blueprint(bp, SIGNED_IN)


class PasswordForm(FlaskForm):
    current = PasswordField(
        "Current password",
        widget=GovPasswordInput(),
        validators=[InputRequired("Enter your current password")],
    )
    new = PasswordField(
        "New password",
        description=(
            f"Use {MIN_LENGTH} characters or more. A few unrelated words make a strong password."
        ),
        widget=GovPasswordInput(),
        validators=[InputRequired("Enter a new password")],
    )
    confirm = PasswordField(
        "Confirm new password",
        widget=GovPasswordInput(),
        validators=[
            InputRequired("Confirm your new password"),
            EqualTo("new", "Passwords must match"),
        ],
    )
    submit = SubmitField("Change password", widget=GovSubmitInput())


@bp.route("/password", methods=["GET", "POST"])
def password() -> Response | str:
    form = PasswordForm()
    user = current_user._get_current_object()
    if form.validate_on_submit():
        try:
            accounts.change_password(user, current=form.current.data or "", new=form.new.data or "")
        except accounts.WrongPassword:
            form.current.errors = ["Your current password is not correct"]
        except accounts.WeakPassword as error:
            form.new.errors = error.problems
        else:
            login_user(user)  # keep this session; the new session version ends the others
            flash(
                "Your password has been changed. Other signed-in sessions have been signed out.",
                "success",
            )
            return redirect(url_for("account.password"))
    return render_template("account/password.html", form=form)
