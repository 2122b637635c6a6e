-- The batch chain per agent and scans split into parts (issue 14).
--
-- The hash of each agent's last accepted batch, which the next batch's
-- `prev` must name. Agents that sent batches before carry the hash of the
-- batch at their last sequence number.
ALTER TABLE agents ADD COLUMN last_sha256 TEXT;
UPDATE agents SET last_sha256 = (
    SELECT b.sha256 FROM batches b WHERE b.agent_id = agents.id AND b.seq = agents.last_seq
    ORDER BY b.number DESC LIMIT 1);

-- Which part of its scan a batch is: assets become inactive once every part
-- of a scan has arrived. Batches stored before were all single parts.
ALTER TABLE batches ADD COLUMN part INTEGER NOT NULL DEFAULT 0;
ALTER TABLE batches ADD COLUMN parts INTEGER NOT NULL DEFAULT 1;
CREATE INDEX batches_scan ON batches (agent_id, scan_id);

-- Sequence numbers an agent skipped: batches the collector never received
-- (refused by the agent's collector earlier, lost with a disk), shown to
-- operators in the fleet view.
CREATE TABLE chain_gaps (
    id          INTEGER PRIMARY KEY,
    agent_id    TEXT    NOT NULL REFERENCES agents(id),
    first_seq   INTEGER NOT NULL,
    last_seq    INTEGER NOT NULL,
    batch_id    TEXT    NOT NULL REFERENCES batches(id),
    detected_at INTEGER NOT NULL
);
CREATE INDEX chain_gaps_agent ON chain_gaps (agent_id, id);
