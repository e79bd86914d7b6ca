from flask_wtf import FlaskForm
from wtforms import BooleanField


class PreferencesForm(FlaskForm):
    my_requests = BooleanField("My requests")
    node_queue = BooleanField("Node work queue")
    coordination = BooleanField("Coordination")
