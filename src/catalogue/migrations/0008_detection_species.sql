-- WhaleID catalogue, version 8: the species a detection shows, as given for
-- its survey (`whaleid ingest --species`, the app's Import screen) or by its
-- label at import. Its suggestions are scoped to that species (and to
-- individuals whose species is not recorded); NULL, unknown, searches all.
-- Synced with the detection (`detection_added` carries it).
ALTER TABLE detections ADD COLUMN species TEXT;
