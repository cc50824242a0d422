"""The state database: SQLAlchemy mapping, repositories, unit of work and Alembic migrations.

Entry points: ``engine.make_engine`` / ``engine.make_session_factory``, ``uow.SqlAlchemyUnitOfWork``
(the repositories hang off it; with ``read_only=True`` it reads without SQLite's write lock),
``services.record_stage_change``, ``audit.verify_audit_chain`` and ``migrate.upgrade``. Works the
same on SQLite (embedded default) and PostgreSQL.
"""

# The tables issues 13 and 14 added live in modules of their own on the same metadata: map them
# with the rest (model locks, audit checks; captured predictions, capture settings; reference
# samples, drift checks; feedback, quality checks; alerts; service-level objectives and states;
# issue 15's retraining policies and runs, the monitor agent's decisions).
import database.models_alerts
import database.models_drift
import database.models_feedback
import database.models_monitor
import database.models_operations
import database.models_retraining
import database.models_safety
import database.models_slo
import database.models_ui
import database.models_watch  # noqa: F401
