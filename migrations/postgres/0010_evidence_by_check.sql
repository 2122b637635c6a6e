-- The evidence of one check in id order: the queue filtered by a check, or by a
-- control (one page per check of the control, merged), without walking the
-- tenant's whole queue.
CREATE INDEX evidence_by_check ON evidence (tenant_id, check_id, id);
