-- Doppel store schema, version 1. {{pk}}, {{blob}}, {{float}} and {{clustered}} are
-- replaced by the dialect's types (see sqlstore.Dialect).

-- The transaction counter: T of the last committed write request.
CREATE TABLE counter (id BIGINT PRIMARY KEY, t BIGINT NOT NULL);
INSERT INTO counter (id, t) VALUES (1, 0);

-- Every version of every resource. t is the T of the write that made the
-- version, t_end the T of the write that superseded it (NULL while current).
-- A version is visible at snapshot T when t <= T and (t_end IS NULL or
-- t_end > T). last_updated is Unix nanoseconds; hash is SHA-256 of body
-- (of the empty string for a delete marker, whose body is NULL). rid
-- increases with t (write transactions are serialized and take T in
-- order), so rid order is the order of writes.
CREATE TABLE resources (
	rid {{pk}},
	type TEXT NOT NULL,
	id TEXT NOT NULL,
	version_id BIGINT NOT NULL,
	t BIGINT NOT NULL,
	t_end BIGINT,
	last_updated BIGINT NOT NULL,
	deleted SMALLINT NOT NULL,
	body {{blob}},
	hash {{blob}} NOT NULL,
	UNIQUE (type, id, version_id)
);
CREATE UNIQUE INDEX resources_current ON resources (type, id) WHERE t_end IS NULL;
CREATE INDEX resources_type ON resources (type, rid);

-- Search index entries, one table per kind of value. A reference is
-- looked up by ref_id and ref_type, or by text with both empty (a URL or
-- URN that does not end in Type/id). Each row belongs to
-- one version (rid) and repeats its t and t_end so that a lookup can drop
-- rows outside the snapshot before joining resources. The primary key
-- leads with what searches look up and ends with rid, so a lookup reads the
-- key alone ({{clustered}} stores the table in the key's order on SQLite);
-- duplicate entries of one version are dropped on insert.
CREATE TABLE idx_string (
	type TEXT NOT NULL, param TEXT NOT NULL,
	norm TEXT NOT NULL, text TEXT NOT NULL,
	rid BIGINT NOT NULL, t BIGINT NOT NULL, t_end BIGINT,
	PRIMARY KEY (type, param, norm, rid, text)
) {{clustered}};
CREATE INDEX idx_string_rid ON idx_string (rid);

CREATE TABLE idx_token (
	type TEXT NOT NULL, param TEXT NOT NULL,
	system TEXT NOT NULL, code TEXT NOT NULL, text TEXT NOT NULL, norm TEXT NOT NULL,
	rid BIGINT NOT NULL, t BIGINT NOT NULL, t_end BIGINT,
	PRIMARY KEY (type, param, code, system, rid, text)
) {{clustered}};
CREATE INDEX idx_token_rid ON idx_token (rid);

CREATE TABLE idx_reference (
	type TEXT NOT NULL, param TEXT NOT NULL,
	ref_type TEXT NOT NULL, ref_id TEXT NOT NULL, text TEXT NOT NULL,
	rid BIGINT NOT NULL, t BIGINT NOT NULL, t_end BIGINT,
	PRIMARY KEY (type, param, ref_id, ref_type, text, rid)
) {{clustered}};
CREATE INDEX idx_reference_rid ON idx_reference (rid);

CREATE TABLE idx_date (
	type TEXT NOT NULL, param TEXT NOT NULL,
	lo {{float}} NOT NULL, hi {{float}} NOT NULL,
	rid BIGINT NOT NULL, t BIGINT NOT NULL, t_end BIGINT,
	PRIMARY KEY (type, param, lo, hi, rid)
) {{clustered}};
CREATE INDEX idx_date_rid ON idx_date (rid);

-- Numbers and quantities: the range [lo, hi] (lo = hi for an exact
-- value); system, code and text: the quantity's unit.
CREATE TABLE idx_number (
	type TEXT NOT NULL, param TEXT NOT NULL,
	lo {{float}} NOT NULL, hi {{float}} NOT NULL,
	system TEXT NOT NULL, code TEXT NOT NULL, text TEXT NOT NULL,
	rid BIGINT NOT NULL, t BIGINT NOT NULL, t_end BIGINT,
	PRIMARY KEY (type, param, lo, hi, rid, system, code, text)
) {{clustered}};
CREATE INDEX idx_number_rid ON idx_number (rid);

CREATE TABLE idx_uri (
	type TEXT NOT NULL, param TEXT NOT NULL,
	text TEXT NOT NULL,
	rid BIGINT NOT NULL, t BIGINT NOT NULL, t_end BIGINT,
	PRIMARY KEY (type, param, text, rid)
) {{clustered}};
CREATE INDEX idx_uri_rid ON idx_uri (rid);

-- Asynchronous jobs (bulk export); created and updated are Unix nanoseconds.
CREATE TABLE jobs (
	id TEXT PRIMARY KEY,
	kind TEXT NOT NULL,
	state TEXT NOT NULL,
	spec {{blob}},
	result {{blob}},
	created BIGINT NOT NULL,
	updated BIGINT NOT NULL
);
