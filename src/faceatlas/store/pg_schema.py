"""PostgreSQL schema of the catalog (:mod:`faceatlas.store.postgres`), as an ordered list of
migrations, the counterpart of :mod:`faceatlas.store.schema` for SQLite.

``PG_MIGRATIONS[i]`` brings a catalog from version ``i`` to ``i + 1``; the version reached
is kept in the one-row ``schema_version`` table. The PostgreSQL catalog starts at the
SQLite schema's current shape (SQLite v4: images with date sources, opt-out templates,
not-face records) in one migration; append later changes to both lists. The version numbers
of the two backends are independent.

Differences from SQLite: ids are ``GENERATED ALWAYS AS IDENTITY`` (never reused), person
names are unique on ``lower(name)``, flags are ``boolean``, blobs are ``bytea`` and
vectors are pgvector ``vector`` values (one column for every model; each model gets its own
partial HNSW index on ``vector::vector(dim)`` or ``::halfvec(dim)``, created when the model's
first embedding is written, see :meth:`PostgresStore.ensure_vector_index`).
"""

from __future__ import annotations

PG_V1 = """
CREATE EXTENSION IF NOT EXISTS vector;
CREATE TABLE images (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    path            TEXT NOT NULL UNIQUE,
    folder          TEXT NOT NULL,
    album           TEXT NOT NULL,
    content_hash    TEXT,
    size            BIGINT NOT NULL,
    mtime_ns        BIGINT NOT NULL,
    width           INTEGER,
    height          INTEGER,
    taken_at        TEXT,
    taken_at_source TEXT CHECK (taken_at_source IN ('exif', 'xmp', 'filename', 'mtime')),
    gps_lat         DOUBLE PRECISION,
    gps_lon         DOUBLE PRECISION,
    status          TEXT NOT NULL CHECK (status IN ('ok', 'noface', 'error')),
    error           TEXT,
    face_count      INTEGER NOT NULL DEFAULT 0,
    indexed_at      TEXT NOT NULL
);
CREATE INDEX images_hash ON images (content_hash);
CREATE INDEX images_folder ON images (folder text_pattern_ops);
CREATE INDEX images_album ON images (album);
CREATE INDEX images_taken ON images (taken_at);

CREATE TABLE people (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name             TEXT,
    notes            TEXT NOT NULL DEFAULT '',
    hidden           BOOLEAN NOT NULL DEFAULT false,
    do_not_recognise BOOLEAN NOT NULL DEFAULT false,
    created_at       TEXT NOT NULL
);
CREATE UNIQUE INDEX people_name ON people (lower(name));

CREATE TABLE faces (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    image_id           BIGINT NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    box_x              DOUBLE PRECISION NOT NULL,
    box_y              DOUBLE PRECISION NOT NULL,
    box_w              DOUBLE PRECISION NOT NULL,
    box_h              DOUBLE PRECISION NOT NULL,
    landmarks          BYTEA NOT NULL,
    det_score          DOUBLE PRECISION NOT NULL,
    quality            DOUBLE PRECISION NOT NULL,
    quality_components TEXT NOT NULL DEFAULT '{}',
    thumbnail          BYTEA,
    person_id          BIGINT REFERENCES people (id) ON DELETE SET NULL,
    assigned_by        TEXT CHECK (assigned_by IN ('auto', 'user'))
);
CREATE INDEX faces_image ON faces (image_id);
CREATE INDEX faces_person ON faces (person_id);

CREATE TABLE embeddings (
    face_id BIGINT NOT NULL REFERENCES faces (id) ON DELETE CASCADE,
    model   TEXT NOT NULL,
    dim     INTEGER NOT NULL,
    vector  vector NOT NULL,
    PRIMARY KEY (face_id, model)
);
CREATE INDEX embeddings_model ON embeddings (model, face_id);

CREATE TABLE vector_indexes (
    model TEXT PRIMARY KEY,
    dim   INTEGER NOT NULL,
    kind  TEXT NOT NULL CHECK (kind IN ('vector', 'halfvec')),
    name  TEXT NOT NULL
);

CREATE TABLE decisions (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind            TEXT NOT NULL,
    face_id         BIGINT REFERENCES faces (id) ON DELETE SET NULL,
    person_id       BIGINT REFERENCES people (id) ON DELETE SET NULL,
    other_person_id BIGINT REFERENCES people (id) ON DELETE SET NULL,
    created_at      TEXT NOT NULL
);

CREATE TABLE optout_templates (
    person_id  BIGINT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    model      TEXT NOT NULL,
    dim        INTEGER NOT NULL,
    vector     BYTEA NOT NULL,
    faces      INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (person_id, model)
);

CREATE TABLE not_faces (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    content_hash TEXT NOT NULL,
    box_x        DOUBLE PRECISION NOT NULL,
    box_y        DOUBLE PRECISION NOT NULL,
    box_w        DOUBLE PRECISION NOT NULL,
    box_h        DOUBLE PRECISION NOT NULL,
    face_id      BIGINT,
    created_at   TEXT NOT NULL
);
CREATE INDEX not_faces_hash ON not_faces (content_hash)
"""

#: Coordination between processes (the SQLite schema's V6_GENERATION, docs/architecture.md):
#: one row of two counters kept by row-level triggers in the changing transaction.
#: ``generation`` grows with every face or embedding deleted or replaced and every opt-out
#: template added, changed or deleted; ``revision`` with every change of people, face-person
#: links and decisions, and every face deleted. (Each script runs whole, in one call.)
PG_V2_GENERATION = """
CREATE TABLE catalog_state (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    generation BIGINT NOT NULL,
    revision   BIGINT NOT NULL
);
INSERT INTO catalog_state (id, generation, revision) VALUES (1, 0, 0);
CREATE FUNCTION faceatlas_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE catalog_state SET generation = generation + TG_ARGV[0]::int,
                             revision = revision + TG_ARGV[1]::int WHERE id = 1;
    RETURN NULL;
END $$;
CREATE TRIGGER gen_embedding_deleted AFTER DELETE OR UPDATE ON embeddings
    FOR EACH ROW EXECUTE FUNCTION faceatlas_bump(1, 0);
CREATE TRIGGER gen_face_deleted AFTER DELETE ON faces
    FOR EACH ROW EXECUTE FUNCTION faceatlas_bump(1, 1);
CREATE TRIGGER gen_optout_changed AFTER INSERT OR UPDATE OR DELETE ON optout_templates
    FOR EACH ROW EXECUTE FUNCTION faceatlas_bump(1, 0);
CREATE TRIGGER rev_face_link AFTER UPDATE OF person_id, assigned_by ON faces
    FOR EACH ROW EXECUTE FUNCTION faceatlas_bump(0, 1);
CREATE TRIGGER rev_person_changed AFTER INSERT OR UPDATE OR DELETE ON people
    FOR EACH ROW EXECUTE FUNCTION faceatlas_bump(0, 1);
CREATE TRIGGER rev_decision_changed AFTER INSERT OR DELETE ON decisions
    FOR EACH ROW EXECUTE FUNCTION faceatlas_bump(0, 1);
"""

#: Videos in the library (the SQLite schema's V7_VIDEO_TRACKS): an image row is a photo or
#: a video (with its duration); a face row of a video is one track (time range, shot).
PG_V3_VIDEO_TRACKS = """
ALTER TABLE images ADD COLUMN media TEXT NOT NULL DEFAULT 'photo'
    CHECK (media IN ('photo', 'video'));
ALTER TABLE images ADD COLUMN duration DOUBLE PRECISION;
ALTER TABLE faces ADD COLUMN t_start DOUBLE PRECISION;
ALTER TABLE faces ADD COLUMN t_end DOUBLE PRECISION;
ALTER TABLE faces ADD COLUMN shot INTEGER
"""

#: Keys of the REST service and its audit log (the SQLite schema's V5_API_KEYS).
PG_V4_API_KEYS = """
CREATE TABLE api_keys (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       TEXT NOT NULL,
    scope      TEXT NOT NULL,
    prefix     TEXT NOT NULL,
    key_hash   TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE UNIQUE INDEX api_keys_active_name ON api_keys (name) WHERE revoked_at IS NULL;
CREATE INDEX api_keys_prefix ON api_keys (prefix);
CREATE TABLE audit_log (
    id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at       TEXT NOT NULL,
    actor    TEXT NOT NULL,
    action   TEXT NOT NULL,
    target   TEXT,
    status   INTEGER,
    detail   TEXT
)
"""

#: Migration scripts, in order; the catalog's version is the number applied.
PG_MIGRATIONS: tuple[str, ...] = (PG_V1, PG_V2_GENERATION, PG_V3_VIDEO_TRACKS, PG_V4_API_KEYS)

PG_SCHEMA_VERSION = len(PG_MIGRATIONS)
