-- Enrollment tokens may be redeemed a set number of times (default once):
-- one token for a fleet rolled out together. `uses` counts redemptions;
-- `used_at` and `agent_id` keep the latest.
ALTER TABLE enrollment_tokens ADD COLUMN max_uses BIGINT NOT NULL DEFAULT 1;
ALTER TABLE enrollment_tokens ADD COLUMN uses BIGINT NOT NULL DEFAULT 0;
UPDATE enrollment_tokens SET uses = 1 WHERE used_at IS NOT NULL;
