-- What the last good sync of a calendar import read: its events, those it
-- skipped as unreadable, and the first few reasons (`../shared/api.md`).
-- A failed sync leaves them as they were, with the blocks they describe.
ALTER TABLE calendar_imports
    ADD COLUMN events   integer NOT NULL DEFAULT 0,
    ADD COLUMN skipped  integer NOT NULL DEFAULT 0,
    ADD COLUMN warnings jsonb NOT NULL DEFAULT '[]';
