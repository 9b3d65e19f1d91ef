"""The schema as forward migrations. Migration N brings `PRAGMA user_version` from N-1 to N.

Never edit a released migration: append a new one.
"""

from __future__ import annotations

# Derived job status (DESIGN.md §2), kept beside the row so listing and filtering by
# status is one indexed read. Time-driven parts (expired, outside window) are flags the
# daemon sets; run-driven parts come from the last-run pointer maintained by triggers.
JOB_STATUS_SQL = """
CASE
  WHEN expired = 1 THEN 'expired'
  WHEN last_run_state IN ('running', 'cancelling') THEN 'running'
  WHEN last_run_state = 'queued' THEN 'queued'
  WHEN active = 0 OR outside_window = 1 THEN 'paused'
  WHEN last_run_state IN ('failed', 'interrupted', 'retrying') THEN 'failed'
  WHEN last_run_state IN ('partially_succeeded', 'cancelled') THEN last_run_state
  WHEN schedule_type IS NOT NULL THEN 'scheduled'
  WHEN last_run_state IS NULL THEN 'never_run'
  ELSE last_run_state
END
"""

V1 = f"""
CREATE TABLE settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE workspaces (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  created_at REAL NOT NULL
);
CREATE TABLE datasets (
  id INTEGER PRIMARY KEY,
  workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
  name TEXT NOT NULL UNIQUE,
  description TEXT NOT NULL DEFAULT '',
  spec TEXT NOT NULL,
  created_at REAL NOT NULL,
  updated_at REAL NOT NULL
);
CREATE TABLE sink_presets (
  id INTEGER PRIMARY KEY,
  workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
  name TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL,
  options TEXT NOT NULL,
  created_at REAL NOT NULL,
  updated_at REAL NOT NULL
);
CREATE TABLE jobs (
  id INTEGER PRIMARY KEY,
  workspace_id INTEGER NOT NULL REFERENCES workspaces(id),
  name TEXT NOT NULL,
  kind TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  tags TEXT NOT NULL DEFAULT '',
  active INTEGER NOT NULL DEFAULT 1,
  system INTEGER NOT NULL DEFAULT 0,
  queue TEXT NOT NULL DEFAULT 'local',
  spec TEXT NOT NULL,
  version INTEGER NOT NULL DEFAULT 1,
  schedule_type TEXT,
  schedule_text TEXT NOT NULL DEFAULT '',
  timezone TEXT,
  next_fire_at REAL,
  expired INTEGER NOT NULL DEFAULT 0,
  outside_window INTEGER NOT NULL DEFAULT 0,
  fire_count INTEGER NOT NULL DEFAULT 0,
  deferred_fires INTEGER NOT NULL DEFAULT 0,
  last_run_id INTEGER,
  last_run_state TEXT,
  last_run_started_at REAL,
  last_run_ended_at REAL,
  last_run_records INTEGER,
  since_watermark REAL,
  deleted_at REAL,
  created_at REAL NOT NULL,
  updated_at REAL NOT NULL,
  status TEXT GENERATED ALWAYS AS ({JOB_STATUS_SQL}) VIRTUAL
);
CREATE UNIQUE INDEX jobs_workspace_name ON jobs(workspace_id, name) WHERE deleted_at IS NULL;
CREATE INDEX jobs_status ON jobs(status, name COLLATE NOCASE);
CREATE INDEX jobs_name ON jobs(name COLLATE NOCASE);
CREATE TABLE job_versions (
  id INTEGER PRIMARY KEY,
  job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  version INTEGER NOT NULL,
  spec TEXT NOT NULL,
  note TEXT NOT NULL DEFAULT '',
  author TEXT NOT NULL,
  created_at REAL NOT NULL,
  starred INTEGER NOT NULL DEFAULT 0,
  UNIQUE (job_id, version)
);
CREATE TABLE runs (
  id INTEGER PRIMARY KEY,
  job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  job_version INTEGER NOT NULL,
  trigger TEXT NOT NULL,
  title TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL,
  parameters TEXT NOT NULL DEFAULT '{{}}',
  options TEXT NOT NULL DEFAULT '{{}}',
  queued_at REAL NOT NULL,
  scheduled_for REAL,
  started_at REAL,
  ended_at REAL,
  heartbeat_at REAL,
  pid INTEGER,
  pgid INTEGER,
  attempt INTEGER NOT NULL DEFAULT 1,
  retry_of INTEGER,
  retry_at REAL,
  records INTEGER NOT NULL DEFAULT 0,
  progress REAL,
  error TEXT,
  errors TEXT NOT NULL DEFAULT '[]',
  results TEXT NOT NULL DEFAULT '[]',
  since REAL,
  cancel_requested_at REAL,
  daemon_epoch INTEGER,
  post_done INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX runs_job ON runs(job_id, id);
CREATE INDEX runs_job_state ON runs(job_id, state, id);
CREATE INDEX runs_state ON runs(state, id);
CREATE INDEX runs_post ON runs(id) WHERE post_done = 0;
CREATE TABLE run_tasks (
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  name TEXT NOT NULL,
  state TEXT NOT NULL,
  records INTEGER NOT NULL DEFAULT 0,
  total INTEGER,
  started_at REAL,
  ended_at REAL,
  error TEXT,
  result TEXT
);
CREATE INDEX run_tasks_run ON run_tasks(run_id, position);
CREATE TABLE run_logs (
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  ts REAL NOT NULL,
  level TEXT NOT NULL,
  stream TEXT NOT NULL,
  message TEXT NOT NULL
);
CREATE UNIQUE INDEX run_logs_run_seq ON run_logs(run_id, seq);
CREATE TABLE daemon_lease (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  owner TEXT,
  pid INTEGER,
  epoch INTEGER NOT NULL DEFAULT 0,
  heartbeat_at REAL,
  started_at REAL,
  paused INTEGER NOT NULL DEFAULT 0,
  info TEXT NOT NULL DEFAULT '{{}}'
);
INSERT INTO daemon_lease (id, epoch) VALUES (1, 0);
CREATE TABLE change_counter (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seq INTEGER NOT NULL
);
INSERT INTO change_counter (id, seq) VALUES (1, 0);

-- The last-run pointer on the job row: missed and skipped fires are history, not status.
CREATE TRIGGER runs_after_insert AFTER INSERT ON runs
WHEN NEW.state NOT IN ('missed', 'skipped')
BEGIN
  UPDATE jobs SET last_run_id = NEW.id, last_run_state = NEW.state,
    last_run_started_at = NEW.started_at, last_run_ended_at = NEW.ended_at,
    last_run_records = NEW.records
  WHERE id = NEW.job_id AND (last_run_id IS NULL OR last_run_id < NEW.id);
END;
CREATE TRIGGER runs_after_update AFTER UPDATE OF state, started_at, ended_at, records ON runs
BEGIN
  UPDATE jobs SET last_run_state = NEW.state, last_run_started_at = NEW.started_at,
    last_run_ended_at = NEW.ended_at, last_run_records = NEW.records
  WHERE id = NEW.job_id AND last_run_id = NEW.id;
END;
CREATE TRIGGER runs_after_delete AFTER DELETE ON runs
BEGIN
  UPDATE jobs SET last_run_id = NULL, last_run_state = NULL, last_run_started_at = NULL,
    last_run_ended_at = NULL, last_run_records = NULL
  WHERE id = OLD.job_id AND last_run_id = OLD.id;
END;

-- A cheap "did any job definition change" signal for the daemon and the screens.
CREATE TRIGGER jobs_changed_insert AFTER INSERT ON jobs
BEGIN UPDATE change_counter SET seq = seq + 1 WHERE id = 1; END;
CREATE TRIGGER jobs_changed_update AFTER UPDATE OF spec, active, deleted_at, version, name ON jobs
BEGIN UPDATE change_counter SET seq = seq + 1 WHERE id = 1; END;
CREATE TRIGGER jobs_changed_delete AFTER DELETE ON jobs
BEGIN UPDATE change_counter SET seq = seq + 1 WHERE id = 1; END;
"""

# 2: each run's state history (run_transitions, written by triggers on every insert and
# every change of state, whoever makes it), the executor a run was claimed for, and its
# worker process's start time (so a restarted daemon tells its worker from a reused pid).
V2 = """
CREATE TABLE run_transitions (
  id INTEGER PRIMARY KEY,
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  from_state TEXT,
  to_state TEXT NOT NULL,
  at REAL NOT NULL
);
CREATE INDEX run_transitions_run ON run_transitions(run_id, id);
ALTER TABLE runs ADD COLUMN executor TEXT;
ALTER TABLE runs ADD COLUMN worker_started_at REAL;

CREATE TRIGGER runs_transition_insert AFTER INSERT ON runs
BEGIN
  INSERT INTO run_transitions (run_id, from_state, to_state, at)
  VALUES (NEW.id, NULL, NEW.state, NEW.queued_at);
END;
-- The time of the step is the run's own stamp for it; a retry mark has none of its own
-- (retry_at is when the retry is due), so it takes the wall clock.
CREATE TRIGGER runs_transition_update AFTER UPDATE OF state ON runs
WHEN OLD.state IS NOT NEW.state
BEGIN
  INSERT INTO run_transitions (run_id, from_state, to_state, at)
  VALUES (NEW.id, OLD.state, NEW.state, COALESCE(
    CASE NEW.state
      WHEN 'running' THEN NEW.started_at
      WHEN 'cancelling' THEN NEW.cancel_requested_at
      WHEN 'retrying' THEN NULL
      ELSE NEW.ended_at
    END,
    (julianday('now') - 2440587.5) * 86400.0));
END;
"""

# safety16c (issue 16.8): a superseded attempt names the run that retried it (`Run.retried_as`,
# looked up by retry_of); runs that an older jobtui left `retrying` for ever (their retry
# was never queued, or was dropped) get their real state back.
V3_RETRIED_AS = """
CREATE INDEX runs_retry_of ON runs(retry_of) WHERE retry_of IS NOT NULL;
UPDATE runs SET retry_at = NULL, state = COALESCE(
  (SELECT t.from_state FROM run_transitions t
   WHERE t.run_id = runs.id AND t.to_state = 'retrying'
     AND t.from_state IN ('failed', 'interrupted')
   ORDER BY t.id DESC LIMIT 1), 'failed')
WHERE state = 'retrying' AND (retry_at IS NULL OR EXISTS
  (SELECT 1 FROM runs x WHERE x.retry_of = runs.id));
"""

# safety16c (issue 16.7): a queued run the daemon holds back until the job's overlap policy
# has room for it (catch-ups of missed fires run one after another under skip/queue or
# allow max 1, and never before a live fire); the supervisor does not start a held run.
V4_HELD_RUNS = """
ALTER TABLE runs ADD COLUMN held INTEGER NOT NULL DEFAULT 0;
CREATE INDEX runs_held ON runs(job_id, id) WHERE held = 1 AND state = 'queued';
"""

# Pipelines (issue 22): the high-water marks a pipeline's readers reached — the job's (moved
# by a successful run, cleared by reset-offset) and each run's (whatever its end), as JSON.
V_PIPELINE_OFFSETS = """
ALTER TABLE jobs ADD COLUMN offsets TEXT;
ALTER TABLE runs ADD COLUMN offsets TEXT;
"""

# 19 (scale-out): the host a remote run executes on, why a queued run waits (the broker
# unreachable), and the events ingested from remote workers: the highest sequence number
# per run and source, so that an event delivered twice is applied once.
V_REMOTE = """
ALTER TABLE runs ADD COLUMN host TEXT;
ALTER TABLE runs ADD COLUMN wait_reason TEXT;
CREATE TABLE remote_events (
  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  source TEXT NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (run_id, source)
) WITHOUT ROWID;
"""

# Records generated per task beside the delivered ones (`records`), issue 17.13; the
# tasks stored before it count what they delivered as generated.
V_TASK_GENERATED = """
ALTER TABLE run_tasks ADD COLUMN generated INTEGER NOT NULL DEFAULT 0;
UPDATE run_tasks SET generated = records;
"""

# 8 (issue 18): when the run's worker really began executing its body (after its start-up,
# claim and order read), so fire -> executing is measured, not fire -> claimed.
V3_EXECUTING_AT = """
ALTER TABLE runs ADD COLUMN executing_at REAL;
"""

# 9 (issue 18): counts without scans. `job_counts` holds how many jobs there are per
# workspace, system flag, live/trashed and derived status, kept by triggers on `jobs`
# (whose status moves with the last-run pointer the `runs` triggers keep, and with the
# daemon's flags); `jobs_fts` is a trigram index of name, description and tags for the
# list's search (LIKE '%text%' semantics, 3 characters or more).
V4_JOB_COUNTS = """
CREATE TABLE job_counts (
  workspace_id INTEGER NOT NULL,
  system INTEGER NOT NULL,
  live INTEGER NOT NULL,
  status TEXT NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (workspace_id, system, live, status)
) WITHOUT ROWID;
INSERT INTO job_counts (workspace_id, system, live, status, n)
SELECT workspace_id, system, deleted_at IS NULL, status, COUNT(*) FROM jobs
GROUP BY workspace_id, system, deleted_at IS NULL, status;

CREATE TRIGGER job_counts_insert AFTER INSERT ON jobs
BEGIN
  INSERT INTO job_counts (workspace_id, system, live, status, n)
  VALUES (NEW.workspace_id, NEW.system, NEW.deleted_at IS NULL, NEW.status, 1)
  ON CONFLICT (workspace_id, system, live, status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER job_counts_delete AFTER DELETE ON jobs
BEGIN
  UPDATE job_counts SET n = n - 1
  WHERE workspace_id = OLD.workspace_id AND system = OLD.system
    AND live = (OLD.deleted_at IS NULL) AND status = OLD.status;
END;
CREATE TRIGGER job_counts_update AFTER UPDATE OF expired, last_run_state, active,
  outside_window, schedule_type, deleted_at, workspace_id, system ON jobs
WHEN (OLD.workspace_id, OLD.system, OLD.deleted_at IS NULL, OLD.status)
  IS NOT (NEW.workspace_id, NEW.system, NEW.deleted_at IS NULL, NEW.status)
BEGIN
  UPDATE job_counts SET n = n - 1
  WHERE workspace_id = OLD.workspace_id AND system = OLD.system
    AND live = (OLD.deleted_at IS NULL) AND status = OLD.status;
  INSERT INTO job_counts (workspace_id, system, live, status, n)
  VALUES (NEW.workspace_id, NEW.system, NEW.deleted_at IS NULL, NEW.status, 1)
  ON CONFLICT (workspace_id, system, live, status) DO UPDATE SET n = n + 1;
END;

CREATE VIRTUAL TABLE jobs_fts USING fts5(
  name, description, tags, content='jobs', content_rowid='id', tokenize='trigram'
);
INSERT INTO jobs_fts (jobs_fts) VALUES ('rebuild');
CREATE TRIGGER jobs_fts_insert AFTER INSERT ON jobs
BEGIN
  INSERT INTO jobs_fts (rowid, name, description, tags)
  VALUES (NEW.id, NEW.name, NEW.description, NEW.tags);
END;
CREATE TRIGGER jobs_fts_delete AFTER DELETE ON jobs
BEGIN
  INSERT INTO jobs_fts (jobs_fts, rowid, name, description, tags)
  VALUES ('delete', OLD.id, OLD.name, OLD.description, OLD.tags);
END;
CREATE TRIGGER jobs_fts_update AFTER UPDATE OF name, description, tags ON jobs
BEGIN
  INSERT INTO jobs_fts (jobs_fts, rowid, name, description, tags)
  VALUES ('delete', OLD.id, OLD.name, OLD.description, OLD.tags);
  INSERT INTO jobs_fts (rowid, name, description, tags)
  VALUES (NEW.id, NEW.name, NEW.description, NEW.tags);
END;
"""

# 10: the job list sorted by last run reads this index instead of sorting every job (25 ms
# at 100k jobs, 0.1 ms with it); the expression is the sort's own (never-run jobs last).
V5_JOBS_LAST_RUN = """
CREATE INDEX jobs_last_run ON jobs(last_run_started_at IS NULL, last_run_started_at);
"""

MIGRATIONS: list[str] = [
    V1,
    V2,
    V3_RETRIED_AS,
    V4_HELD_RUNS,
    V_PIPELINE_OFFSETS,
    V_REMOTE,
    V_TASK_GENERATED,
    V3_EXECUTING_AT,
    V4_JOB_COUNTS,
    V5_JOBS_LAST_RUN,
]
SCHEMA_VERSION = len(MIGRATIONS)
