-- The agent's software version, as its latest accepted batch reports it
-- (the fleet view shows it; agents before 0.1 report none).
ALTER TABLE agents ADD COLUMN version TEXT;
