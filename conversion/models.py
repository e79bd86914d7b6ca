"""Import every model so that metadata (and Alembic) sees all tables."""

from .accounts.models import ApiToken, Role, SecurityEvent, User  # noqa: F401
from .catalogue.models import Access, DeleterStrain, Material, Node, Recombinase, Strain  # noqa: F401
from .dashboards.models import StateDuration  # noqa: F401
from .documents.models import RequestDocument  # noqa: F401
from .invoices.models import (  # noqa: F401
    IdempotencyKey,
    Invoice,
    InvoiceCounter,
    InvoiceLine,
    Price,
    PriceList,
    Quote,
    VatRate,
)
from .lab.models import Animal, Cryopreservation, CryoThaw, LabCorrection, Litter, Mating, Paperwork, QcResult, Shipment  # noqa: F401
from .notifications.models import ArchiveWatch, NotificationPreference, OutboxMessage  # noqa: F401
from .requests.models import ConversionRequest, Deliverable, RequestEvent, RequestMessage, Sector  # noqa: F401
