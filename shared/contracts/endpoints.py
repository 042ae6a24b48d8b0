"""Every operation of the public HTTP API, declared once.

An `Endpoint` says the method, the path (Starlette syntax: `{sale_id:uuid}`), the roles that
may call it, its body and query models, its success status and the Knative Service that
serves it. The gateway builds its routes and the OpenAPI document from this table; each
function serves its endpoints by naming them (`shared.http.Route(endpoint, handler)`); the
RBAC tests read the roles from here and a unit test holds them to DESIGN.md's API table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

from shared.auth.principal import ALL_ROLES, Role
from shared.contracts import queries
from shared.contracts.auth import ApprovalIn, LoginIn, PasswordChangeIn, UserIn, UserPatch
from shared.contracts.catalog import CategoryIn, CategoryPatch, ProductIn, ProductPatch
from shared.contracts.customers import CustomerIn, CustomerPatch, CustomerPaymentIn
from shared.contracts.finance import (
    CashClosingIn,
    CashOperationIn,
    ExpenseIn,
    ExpenseReversalIn,
    IncomeIn,
    PayablePaymentIn,
    SettleIn,
)
from shared.contracts.imports import ImportSalesIn, ImportStockIn
from shared.contracts.inventory import BreakdownIn, MovementIn
from shared.contracts.sales import PaymentIn, ReturnIn, SaleIn
from shared.contracts.suppliers import SupplierIn, SupplierPatch
from shared.contracts.till import TillCloseIn, TillMovementIn, TillOpenIn

Method = Literal["GET", "POST", "PATCH"]

# Who may call: the same four sets everywhere (DESIGN.md, "Security": roles).
ANY_USER = ALL_ROLES
ADMIN = frozenset({Role.ADMIN})
STOCK_KEEPERS = frozenset({Role.ADMIN, Role.ESTOQUISTA})
SELLERS = frozenset({Role.ADMIN, Role.VENDEDOR})

# The OpenAPI tag of a path by its first segment after /api/ (the segment itself otherwise).
_TAG_OF_SEGMENT = {
    "me": "auth",
    "users": "auth",
    "categories": "catalog",
    "products": "catalog",
    "events": "platform",
    "dead-letters": "platform",
}
# POST /api/sales: the Idempotency-Key header's longest value.
IDEMPOTENCY_KEY_MAX = 200
_PARAM = re.compile(r"{([a-z_]+)(?::([a-z]+))?}")


@dataclass(frozen=True)
class Endpoint:
    """One operation. `roles` None: no access token is asked here (login, refresh, logout;
    auth checks the password or the refresh cookie itself). `gateway` False: served by the
    function but not public (the gateway's own calls to auth)."""

    method: Method
    path: str
    function: str
    roles: frozenset[Role] | None
    tag: str
    summary: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    status: int = 200
    idempotency_key: bool = False
    gateway: bool = True

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def path_params(self) -> dict[str, str]:
        """Each path parameter and its Starlette convertor ("str" when none is named)."""
        return {name: kind or "str" for name, kind in _PARAM.findall(self.path)}

    @property
    def public_path(self) -> str:
        """The path as OpenAPI and FastAPI write it: `{sale_id}`, no convertor."""
        return _PARAM.sub(r"{\1}", self.path)


def _e(
    method: Method,
    path: str,
    function: str,
    roles: frozenset[Role] | None,
    summary: str,
    **options: object,
) -> Endpoint:
    segment = path.split("/")[2] if path.startswith("/api/") else "auth"
    tag = _TAG_OF_SEGMENT.get(segment, segment)
    return Endpoint(method, path, function, roles, tag, summary, **options)  # type: ignore[arg-type]


# -- auth -------------------------------------------------------------------------------
LOGIN = _e("POST", "/api/auth/login", "auth", None, "Log in", body=LoginIn)
REFRESH = _e("POST", "/api/auth/refresh", "auth", None, "A new access token (refresh cookie)")
LOGOUT = _e("POST", "/api/auth/logout", "auth", None, "Log out", status=204)
CHANGE_PASSWORD = _e(
    "POST", "/api/auth/password", "auth", None, "Change one's own password", body=PasswordChangeIn
)
APPROVE = _e("POST", "/api/auth/approvals", "auth", SELLERS, "An admin's approval", body=ApprovalIn)
CHECK_SESSION = _e(
    "POST", "/api/auth/check", "auth", None, "Whether a token's rights still hold", gateway=False
)
JWKS = _e("GET", "/.well-known/jwks.json", "auth", None, "Token keys", gateway=False)
ME = _e("GET", "/api/me", "auth", ANY_USER, "The caller")
LIST_USERS = _e("GET", "/api/users", "auth", ADMIN, "Users")
CREATE_USER = _e("POST", "/api/users", "auth", ADMIN, "Create a user", body=UserIn, status=201)
UPDATE_USER = _e(
    "PATCH", "/api/users/{user_id:uuid}", "auth", ADMIN, "Change a user", body=UserPatch
)

# -- catalog ----------------------------------------------------------------------------
LIST_CATEGORIES = _e("GET", "/api/categories", "catalog-query", ANY_USER, "Categories")
CREATE_CATEGORY = _e(
    "POST",
    "/api/categories",
    "create-category",
    STOCK_KEEPERS,
    "Create a category",
    body=CategoryIn,
    status=201,
)
LIST_PRODUCTS = _e(
    "GET",
    "/api/products",
    "catalog-query",
    ANY_USER,
    "Search products",
    query=queries.ProductsQuery,
)
GET_PRODUCT = _e("GET", "/api/products/{product_id:uuid}", "catalog-query", ANY_USER, "A product")
CREATE_PRODUCT = _e(
    "POST",
    "/api/products",
    "create-product",
    STOCK_KEEPERS,
    "Create a product",
    body=ProductIn,
    status=201,
)
UPDATE_PRODUCT = _e(
    "PATCH",
    "/api/products/{product_id:uuid}",
    "update-product",
    STOCK_KEEPERS,
    "Change a product",
    body=ProductPatch,
)

# -- platform ---------------------------------------------------------------------------
RECENT_EVENTS = _e(
    "GET", "/api/events", "event-log", ADMIN, "Recent events", query=queries.EventsQuery
)
DEAD_LETTERS = _e(
    "GET",
    "/api/dead-letters",
    "dead-letter",
    ADMIN,
    "Dead letters",
    query=queries.DeadLettersQuery,
)
REPLAY_DEAD_LETTER = _e(
    "POST",
    "/api/dead-letters/{dead_letter_id:uuid}/replay",
    "dead-letter",
    ADMIN,
    "Replay a dead letter",
    status=202,
)

# -- inventory --------------------------------------------------------------------------
REGISTER_MOVEMENT = _e(
    "POST",
    "/api/inventory/movements",
    "register-movement",
    STOCK_KEEPERS,
    "Receipt, loss or count",
    body=MovementIn,
    status=201,
)
REGISTER_BREAKDOWN = _e(
    "POST",
    "/api/inventory/breakdowns",
    "register-movement",
    STOCK_KEEPERS,
    "A desossa",
    body=BreakdownIn,
    status=201,
)
STOCK_LEVELS = _e(
    "GET",
    "/api/inventory/stock",
    "inventory-query",
    ANY_USER,
    "Stock levels",
    query=queries.StockQuery,
)
STOCK_OF_PRODUCT = _e(
    "GET",
    "/api/inventory/stock/{product_id:uuid}",
    "inventory-query",
    ANY_USER,
    "A product's stock",
    query=queries.StockQuery,
)
STOCK_MOVEMENTS = _e(
    "GET",
    "/api/inventory/movements",
    "inventory-query",
    STOCK_KEEPERS,
    "Movements, newest first",
    query=queries.MovementsQuery,
)

# -- sales ------------------------------------------------------------------------------
COMPLETE_SALE = _e(
    "POST",
    "/api/sales",
    "complete-sale",
    SELLERS,
    "A sale at the counter",
    body=SaleIn,
    status=201,
    idempotency_key=True,
)
RETRY_PAYMENT = _e(
    "POST",
    "/api/sales/{sale_id:uuid}/payments",
    "complete-sale",
    SELLERS,
    "Pay a failed sale another way",
    body=PaymentIn,
)
# Issue 17: a vendedor may cancel their own unpaid sale (cancel-sale checks); paid: admin only.
CANCEL_SALE = _e(
    "POST",
    "/api/sales/{sale_id:uuid}/cancel",
    "cancel-sale",
    SELLERS,
    "Cancel a sale",
    status=202,
)
LIST_SALES = _e("GET", "/api/sales", "sales-query", SELLERS, "Sales", query=queries.SalesQuery)
GET_SALE = _e("GET", "/api/sales/{sale_id:uuid}", "sales-query", SELLERS, "A sale")
PIX_QR_CODE = _e(
    "GET", "/api/sales/{sale_id:uuid}/pix.svg", "sales-query", SELLERS, "A sale's PIX QR code"
)

RECEIPT = _e(
    "GET",
    "/api/sales/{sale_id:uuid}/receipt",
    "sales-query",
    SELLERS,
    "A paid sale's receipt (48 columns; ?format=html for 80 mm)",
    query=queries.ReceiptQuery,
)
RETURN_ITEMS = _e(
    "POST",
    "/api/sales/{sale_id:uuid}/returns",
    "return-sale",
    ADMIN,
    "Take back part of a paid sale",
    body=ReturnIn,
    status=201,
)

# -- till -------------------------------------------------------------------------------
OPEN_TILL = _e(
    "POST",
    "/api/till/sessions",
    "till",
    SELLERS,
    "Open the caller's till",
    body=TillOpenIn,
    status=201,
)
TILL_SESSIONS = _e(
    "GET",
    "/api/till/sessions",
    "till",
    SELLERS,
    "Till sessions (a vendedor's own)",
    query=queries.TillSessionsQuery,
)
TILL_MOVEMENT = _e(
    "POST",
    "/api/till/sessions/{session_id:uuid}/movements",
    "till",
    SELLERS,
    "Sangria or suprimento",
    body=TillMovementIn,
    status=201,
)
CLOSE_TILL = _e(
    "POST",
    "/api/till/sessions/{session_id:uuid}/close",
    "till",
    SELLERS,
    "Close a till with the counted amounts",
    body=TillCloseIn,
)

# -- customers --------------------------------------------------------------------------
LIST_CUSTOMERS = _e(
    "GET",
    "/api/customers",
    "customers-query",
    SELLERS,
    "Search customers",
    query=queries.CustomersQuery,
)
CUSTOMER_STATEMENT = _e(
    "GET",
    "/api/customers/{customer_id:uuid}/statement",
    "customers-query",
    SELLERS,
    "A customer's account",
    query=queries.StatementQuery,
)
CREATE_CUSTOMER = _e(
    "POST",
    "/api/customers",
    "manage-customer",
    SELLERS,
    "Register a customer (the limit: admin only)",
    body=CustomerIn,
    status=201,
)
UPDATE_CUSTOMER = _e(
    "PATCH",
    "/api/customers/{customer_id:uuid}",
    "manage-customer",
    SELLERS,
    "Change a customer (limit and active: admin only)",
    body=CustomerPatch,
)
CUSTOMER_PAYMENT = _e(
    "POST",
    "/api/customers/{customer_id:uuid}/payments",
    "receive-customer-payment",
    SELLERS,
    "A payment on a customer's account",
    body=CustomerPaymentIn,
    status=201,
)

# -- finance ----------------------------------------------------------------------------
POST_EXPENSE = _e(
    "POST",
    "/api/finance/expenses",
    "post-ledger-entry",
    ADMIN,
    "An expense",
    body=ExpenseIn,
    status=201,
)
CASH_OPERATION = _e(
    "POST",
    "/api/finance/cash-operations",
    "post-ledger-entry",
    ADMIN,
    "Opening float, sangria or suprimento",
    body=CashOperationIn,
    status=201,
)
CLOSE_CASH = _e(
    "POST",
    "/api/finance/cash-closing",
    "post-ledger-entry",
    ADMIN,
    "Count the drawer",
    body=CashClosingIn,
)
CASH_CLOSING = _e(
    "GET",
    "/api/finance/cash-closing",
    "finance-report",
    ADMIN,
    "A day's cash closing",
    query=queries.DayQuery,
)
REPORT = _e(
    "GET",
    "/api/finance/report",
    "finance-report",
    ADMIN,
    "The result",
    query=queries.ReportQuery,
)
REPORT_CSV = _e(
    "GET",
    "/api/finance/report.csv",
    "finance-report",
    ADMIN,
    "The result as CSV",
    query=queries.ReportQuery,
)
ENTRIES = _e(
    "GET",
    "/api/finance/entries",
    "finance-report",
    ADMIN,
    "Ledger entries",
    query=queries.EntriesQuery,
)
ENTRIES_CSV = _e(
    "GET",
    "/api/finance/entries.csv",
    "finance-report",
    ADMIN,
    "Ledger entries as CSV",
    query=queries.EntriesQuery,
)
TRIAL_BALANCE = _e(
    "GET",
    "/api/finance/trial-balance",
    "finance-report",
    ADMIN,
    "Trial balance",
    query=queries.UntilQuery,
)

# -- issue 18: the back office ----------------------------------------------------------
UPDATE_CATEGORY = _e(
    "PATCH",
    "/api/categories/{category_id:uuid}",
    "update-category",
    STOCK_KEEPERS,
    "Rename or (de)activate a category",
    body=CategoryPatch,
)
LIST_SUPPLIERS = _e(
    "GET",
    "/api/suppliers",
    "suppliers",
    STOCK_KEEPERS,
    "Search suppliers",
    query=queries.SuppliersQuery,
)
CREATE_SUPPLIER = _e(
    "POST",
    "/api/suppliers",
    "suppliers",
    STOCK_KEEPERS,
    "Register a supplier",
    body=SupplierIn,
    status=201,
)
UPDATE_SUPPLIER = _e(
    "PATCH",
    "/api/suppliers/{supplier_id:uuid}",
    "suppliers",
    STOCK_KEEPERS,
    "Change a supplier",
    body=SupplierPatch,
)
LIST_PAYABLES = _e(
    "GET",
    "/api/finance/payables",
    "payables",
    ADMIN,
    "Suppliers' bills",
    query=queries.PayablesQuery,
)
PAY_PAYABLE = _e(
    "POST",
    "/api/finance/payables/{payable_id:uuid}/payments",
    "payables",
    ADMIN,
    "Pay a supplier's bill (whole or part)",
    body=PayablePaymentIn,
    status=201,
)
LIST_RECEIVABLES = _e(
    "GET",
    "/api/finance/receivables",
    "receivables",
    ADMIN,
    "Card money expected and settled",
    query=queries.ReceivablesQuery,
)
SETTLE_RECEIVABLES = _e(
    "POST",
    "/api/finance/receivables/settle",
    "receivables",
    ADMIN,
    "Settle the card money expected up to a day",
    body=SettleIn,
)
LIST_EXPENSES = _e(
    "GET",
    "/api/finance/expenses",
    "finance-report",
    ADMIN,
    "Expenses and their reversals",
    query=queries.ExpensesQuery,
)
REVERSE_EXPENSE = _e(
    "POST",
    "/api/finance/expenses/{expense_id:uuid}/reverse",
    "post-ledger-entry",
    ADMIN,
    "Reverse an expense",
    body=ExpenseReversalIn,
    status=201,
)
RECORD_INCOME = _e(
    "POST",
    "/api/finance/incomes",
    "post-ledger-entry",
    ADMIN,
    "Other income",
    body=IncomeIn,
    status=201,
)
DASHBOARD = _e(
    "GET",
    "/api/dashboard",
    "dashboard",
    ADMIN,
    "A day at a glance",
    query=queries.DashboardQuery,
)
IMPORT_SALES = _e(
    "POST",
    "/api/import/sales",
    "import-sales",
    ADMIN,
    "Import past sales (each keeps its time)",
    body=ImportSalesIn,
)
IMPORT_SALES_CSV = _e(
    "POST",
    "/api/import/sales.csv",
    "import-sales",
    ADMIN,
    "Import past sales from a CSV (text/csv body)",
)
IMPORT_STOCK = _e(
    "POST",
    "/api/import/stock",
    "register-movement",
    ADMIN,
    "Import past stock movements and breakdowns (each keeps its time)",
    body=ImportStockIn,
)

ENDPOINTS: tuple[Endpoint, ...] = tuple(
    v for v in list(globals().values()) if isinstance(v, Endpoint)
)
PUBLIC_ENDPOINTS: tuple[Endpoint, ...] = tuple(e for e in ENDPOINTS if e.gateway)
# Every Knative Service the gateway forwards to.
GATEWAY_UPSTREAMS: tuple[str, ...] = tuple(sorted({e.function for e in PUBLIC_ENDPOINTS}))
