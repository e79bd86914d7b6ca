"""Demo users, one or more of each role (their passwords are published in the README)."""

from __future__ import annotations

from sqlalchemy import select

from ..catalogue.models import Node
from ..extensions import db
from .models import Role, User
from .operations import find_user

DEMO_USERS = [
    ("requester@example.org", "requester-demo", "requester", None, "Rita Requester", "Universität Heidelberg"),
    ("industry@biotech.example", "industry-demo", "requester", None, "Ivo Industry", "Biotech Example GmbH"),
    ("coordinator@emma.example", "coordinator-demo", "coordinator", None, "Cora Coordinator", "EMMA/INFRAFRONTIER"),
    ("staff.ics@emma.example", "staff-ics-demo", "staff", "ICS", "Sam Staff (ICS)", ""),
    ("staff.mrc@emma.example", "staff-mrc-demo", "staff", "MRC", "Sue Staff (MRC)", ""),
    ("staff.hmgu@emma.example", "staff-hmgu-demo", "staff", "HMGU", "Hans Staff (HMGU)", ""),
    ("staff.oulu@emma.example", "staff-oulu-demo", "staff", "UNIOULU", "Olli Staff (Oulu)", ""),
]


def seed_users(context: dict) -> None:
    for email, password, role, node_code, name, organisation in DEMO_USERS:
        if find_user(email) is not None:
            continue
        node = db.session.scalar(select(Node).where(Node.code == node_code)) if node_code else None
        user = User(email=email, role=Role(role), node=node, name=name, organisation=organisation)
        user.set_password(password)
        db.session.add(user)
