"""SQLite schema of the catalog, as an ordered list of migrations.

``MIGRATIONS[i]`` brings a catalog from version ``i`` to ``i + 1``; the version reached is
kept in the one-row ``schema_version`` table. To change the schema, append a migration
(never edit a released one). Columns are documented in :mod:`faceatlas.store.base`.
"""

from __future__ import annotations

V1 = """
CREATE TABLE images (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    path            TEXT NOT NULL UNIQUE,
    folder          TEXT NOT NULL,
    album           TEXT NOT NULL,
    content_hash    TEXT,
    size            INTEGER NOT NULL,
    mtime_ns        INTEGER NOT NULL,
    width           INTEGER,
    height          INTEGER,
    taken_at        TEXT,
    taken_at_source TEXT CHECK (taken_at_source IN ('exif', 'mtime')),
    gps_lat         REAL,
    gps_lon         REAL,
    status          TEXT NOT NULL CHECK (status IN ('ok', 'noface', 'error')),
    error           TEXT,
    face_count      INTEGER NOT NULL DEFAULT 0,
    indexed_at      TEXT NOT NULL
);
CREATE INDEX images_hash ON images (content_hash);
CREATE INDEX images_folder ON images (folder);
CREATE INDEX images_album ON images (album);
CREATE INDEX images_taken ON images (taken_at);

CREATE TABLE people (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    name             TEXT UNIQUE COLLATE NOCASE,
    notes            TEXT NOT NULL DEFAULT '',
    hidden           INTEGER NOT NULL DEFAULT 0,
    do_not_recognise INTEGER NOT NULL DEFAULT 0,
    created_at       TEXT NOT NULL
);

CREATE TABLE faces (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    image_id           INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    box_x              REAL NOT NULL,
    box_y              REAL NOT NULL,
    box_w              REAL NOT NULL,
    box_h              REAL NOT NULL,
    landmarks          BLOB NOT NULL,          -- 10 float32: (x, y) of 5 points
    det_score          REAL NOT NULL,
    quality            REAL NOT NULL,
    quality_components TEXT NOT NULL DEFAULT '{}',  -- JSON {cue: value}
    thumbnail          BLOB,                   -- JPEG, ~64 px
    person_id          INTEGER REFERENCES people (id) ON DELETE SET NULL,
    assigned_by        TEXT CHECK (assigned_by IN ('auto', 'user'))
);
CREATE INDEX faces_image ON faces (image_id);
CREATE INDEX faces_person ON faces (person_id);

CREATE TABLE embeddings (
    face_id INTEGER NOT NULL REFERENCES faces (id) ON DELETE CASCADE,
    model   TEXT NOT NULL,
    dim     INTEGER NOT NULL,
    vector  BLOB NOT NULL,                     -- dim float32, unit norm
    PRIMARY KEY (face_id, model)
);
CREATE INDEX embeddings_model ON embeddings (model, face_id);

CREATE TABLE decisions (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT NOT NULL,
    face_id         INTEGER REFERENCES faces (id) ON DELETE SET NULL,
    person_id       INTEGER REFERENCES people (id) ON DELETE SET NULL,
    other_person_id INTEGER REFERENCES people (id) ON DELETE SET NULL,
    created_at      TEXT NOT NULL
);
"""

#: Opt-out ("do not recognise") templates: what is kept of a person who opted out so that
#: their face can keep being refused (see faceatlas.privacy.optout): one unit vector per
#: embedding model, the mean of the faces erased at opt-out, and how many faces it averages.
V2 = """
CREATE TABLE optout_templates (
    person_id  INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    model      TEXT NOT NULL,
    dim        INTEGER NOT NULL,
    vector     BLOB NOT NULL,                  -- dim float32, unit norm
    faces      INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (person_id, model)
);
"""

#: Detections a user marked "not a face" (faceatlas.library.notface): the face rows are
#: deleted; each record keeps the photo's content hash and the box, so that analysing the
#: same bytes again (re-index, a copy elsewhere) drops the detection at that place.
V3_NOT_FACE = """
CREATE TABLE not_faces (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    content_hash TEXT NOT NULL,
    box_x        REAL NOT NULL,
    box_y        REAL NOT NULL,
    box_w        REAL NOT NULL,
    box_h        REAL NOT NULL,
    face_id      INTEGER,                      -- the face id it had (rows are deleted)
    created_at   TEXT NOT NULL
);
CREATE INDEX not_faces_hash ON not_faces (content_hash);
"""

#: Where a photo's date comes from (see faceatlas.library.dates): EXIF, XMP, a date in the
#: file name, or the file time (an estimate). SQLite cannot change a CHECK constraint in
#: place: the images table is rebuilt (the migration runs with foreign keys off, so faces
#: keep their rows; ids and the AUTOINCREMENT counter are kept).
V4_DATE_SOURCES = """
CREATE TABLE images_v4 (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    path            TEXT NOT NULL UNIQUE,
    folder          TEXT NOT NULL,
    album           TEXT NOT NULL,
    content_hash    TEXT,
    size            INTEGER NOT NULL,
    mtime_ns        INTEGER NOT NULL,
    width           INTEGER,
    height          INTEGER,
    taken_at        TEXT,
    taken_at_source TEXT CHECK (taken_at_source IN ('exif', 'xmp', 'filename', 'mtime')),
    gps_lat         REAL,
    gps_lon         REAL,
    status          TEXT NOT NULL CHECK (status IN ('ok', 'noface', 'error')),
    error           TEXT,
    face_count      INTEGER NOT NULL DEFAULT 0,
    indexed_at      TEXT NOT NULL
);
INSERT INTO images_v4 (id, path, folder, album, content_hash, size, mtime_ns, width, height,
    taken_at, taken_at_source, gps_lat, gps_lon, status, error, face_count, indexed_at)
    SELECT id, path, folder, album, content_hash, size, mtime_ns, width, height, taken_at,
    taken_at_source, gps_lat, gps_lon, status, error, face_count, indexed_at FROM images;
DELETE FROM sqlite_sequence WHERE name = 'images_v4';
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'images_v4', seq FROM sqlite_sequence WHERE name = 'images';
DROP TABLE images;
ALTER TABLE images_v4 RENAME TO images;
CREATE INDEX images_hash ON images (content_hash);
CREATE INDEX images_folder ON images (folder);
CREATE INDEX images_album ON images (album);
CREATE INDEX images_taken ON images (taken_at)
"""

#: Keys of the REST service (faceatlas.app.keys): only the SHA-256 of each secret is kept;
#: a revoked key stays listed (``revoked_at``) and a new key may then reuse its name. The
#: audit log records who (key name) did what (write and admin calls), when.
V5_API_KEYS = """
CREATE TABLE api_keys (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL,
    scope      TEXT NOT NULL,                  -- read | write | admin
    prefix     TEXT NOT NULL,                  -- first characters of the key, for lookup
    key_hash   TEXT NOT NULL UNIQUE,           -- hex SHA-256 of the whole key
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE UNIQUE INDEX api_keys_active_name ON api_keys (name) WHERE revoked_at IS NULL;
CREATE INDEX api_keys_prefix ON api_keys (prefix);
CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    at       TEXT NOT NULL,
    actor    TEXT NOT NULL,                    -- key name, or "cli"
    action   TEXT NOT NULL,                    -- e.g. "POST /api/v1/people/3/merge"
    target   TEXT,
    status   INTEGER,
    detail   TEXT
);
"""

#: Coordination between processes (docs/architecture.md, "Coordination between
#: processes"): one row of two counters, kept by triggers so that no writer can forget them.
#: ``generation`` grows with every change that removes or replaces what a copy elsewhere may
#: hold (a face or embedding deleted, an opt-out template added or removed): in-memory and
#: on-disk vector indexes and long jobs' opt-out screens are checked against it.
#: ``revision`` grows with every change of people, face-person links and decisions (user
#: corrections, clustering): ``cluster`` applies its result only if it did not move.
V6_GENERATION = """
CREATE TABLE catalog_state (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    generation INTEGER NOT NULL,
    revision   INTEGER NOT NULL
);
INSERT INTO catalog_state (id, generation, revision) VALUES (1, 0, 0);
CREATE TRIGGER gen_embedding_deleted AFTER DELETE ON embeddings BEGIN
    UPDATE catalog_state SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER gen_embedding_replaced AFTER UPDATE ON embeddings BEGIN
    UPDATE catalog_state SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER gen_face_deleted AFTER DELETE ON faces BEGIN
    UPDATE catalog_state SET generation = generation + 1, revision = revision + 1
    WHERE id = 1; END;
CREATE TRIGGER gen_optout_added AFTER INSERT ON optout_templates BEGIN
    UPDATE catalog_state SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER gen_optout_changed AFTER UPDATE ON optout_templates BEGIN
    UPDATE catalog_state SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER gen_optout_deleted AFTER DELETE ON optout_templates BEGIN
    UPDATE catalog_state SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER rev_face_link AFTER UPDATE OF person_id, assigned_by ON faces BEGIN
    UPDATE catalog_state SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER rev_person_added AFTER INSERT ON people BEGIN
    UPDATE catalog_state SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER rev_person_changed AFTER UPDATE ON people BEGIN
    UPDATE catalog_state SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER rev_person_deleted AFTER DELETE ON people BEGIN
    UPDATE catalog_state SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER rev_decision_added AFTER INSERT ON decisions BEGIN
    UPDATE catalog_state SET revision = revision + 1 WHERE id = 1; END;
CREATE TRIGGER rev_decision_deleted AFTER DELETE ON decisions BEGIN
    UPDATE catalog_state SET revision = revision + 1 WHERE id = 1; END
"""


#: Videos in the library (faceatlas.library.videos): an image row is a photo or a video
#: (with its duration in seconds); a face row of a video is one *track* (one person in
#: one shot): its time range in seconds and its shot number, its box, landmarks and
#: thumbnail those of the track's best-quality face, its embedding the track's aggregate.
V7_VIDEO_TRACKS = """
ALTER TABLE images ADD COLUMN media TEXT NOT NULL DEFAULT 'photo'
    CHECK (media IN ('photo', 'video'));
ALTER TABLE images ADD COLUMN duration REAL;
ALTER TABLE faces ADD COLUMN t_start REAL;
ALTER TABLE faces ADD COLUMN t_end REAL;
ALTER TABLE faces ADD COLUMN shot INTEGER
"""

#: Migration scripts, in order; the catalog's version is the number applied.
MIGRATIONS: tuple[str, ...] = (V1, V2, V3_NOT_FACE, V4_DATE_SOURCES, V5_API_KEYS,
                               V6_GENERATION, V7_VIDEO_TRACKS)

SCHEMA_VERSION = len(MIGRATIONS)
