-- Reserved: number 14 belongs to a branch merged separately; this placeholder keeps the
-- numbers gapless on the bucket branch. Delete it when that branch's migration lands.
SELECT 1;
