from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


class PasswordForm(FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired(), Length(max=200)])
    new = PasswordField("New password", validators=[DataRequired(), Length(max=200)])
    repeat = PasswordField("New password again", validators=[DataRequired(), Length(max=200)])


class ConfirmForm(FlaskForm):
    """A button that only needs the CSRF token (sign out everywhere)."""


class RoleForm(FlaskForm):
    """Checked by operations.change_role (role one of Role, node a node code for staff)."""

    role = StringField("Role", validators=[DataRequired(), Length(max=20)])
    node = StringField("Node (staff only)", validators=[Length(max=20)])


class RegisterForm(FlaskForm):
    """Asking for an account (checked by operations.register)."""

    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    name = StringField("Your name", validators=[DataRequired(), Length(max=200)])
    organisation = StringField("Institute or company", validators=[Length(max=200)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])
    repeat = PasswordField("Password again", validators=[DataRequired(), Length(max=200)])


class ResetRequestForm(FlaskForm):
    email = EmailField("Email of your account", validators=[DataRequired(), Length(max=254)])


class ResetForm(FlaskForm):
    new = PasswordField("New password", validators=[DataRequired(), Length(max=200)])
    repeat = PasswordField("New password again", validators=[DataRequired(), Length(max=200)])


class DecisionForm(FlaskForm):
    """A coordinator's decision on an account request: approve or refuse."""

    decision = StringField("Decision", validators=[DataRequired(), Length(max=10)])
