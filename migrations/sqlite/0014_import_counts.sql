-- What the last good sync of a calendar import read (see the PostgreSQL
-- migration).
ALTER TABLE calendar_imports ADD COLUMN events INTEGER NOT NULL DEFAULT 0;
ALTER TABLE calendar_imports ADD COLUMN skipped INTEGER NOT NULL DEFAULT 0;
ALTER TABLE calendar_imports ADD COLUMN warnings TEXT NOT NULL DEFAULT '[]';
