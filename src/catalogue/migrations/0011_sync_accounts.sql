-- WhaleID catalogue, version 11: the account behind each received operation.

-- An operation's `author` is whatever the laptop that made it claims. The
-- server knows the user of the token it came with and says so in its pulls
-- (`pushed_by`); a laptop keeps that account beside the claimed author, so
-- both are shown wherever the author is (see src/sync/accounts.rs). NULL
-- for this laptop's own operations, for what arrived before laptops kept
-- it, and for what a server that does not record it sent.
ALTER TABLE sync_ops ADD COLUMN account TEXT;
