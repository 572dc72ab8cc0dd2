-- The untrusted-context warning of landing pages (issue 17, item 4):
--   context  "untrusted_network" / "untrusted_country" when a bounded-use
--            link's landing page warned that it was opened from outside the
--            object's expected networks or countries (docs/policy.md)
ALTER TABLE events ADD COLUMN context TEXT;
