-- Device time series (series.go). A series is the samples of one code for
-- one patient from one device, in one unit; its samples are stored in
-- chunks, one per UTC day (day = floor(unix seconds / 86400)), each one
-- byte string (chunk.go), sealed when the store is (package sealed).
CREATE TABLE series (
	sid {{pk}},
	patient TEXT NOT NULL,
	code TEXT NOT NULL,
	device TEXT NOT NULL,
	unit TEXT NOT NULL,
	UNIQUE (patient, code, device)
);

CREATE TABLE series_chunk (
	sid BIGINT NOT NULL,
	day BIGINT NOT NULL,
	data {{blob}} NOT NULL,
	PRIMARY KEY (sid, day)
) {{clustered}};
