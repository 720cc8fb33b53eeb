"""What people read: one policy for untrusted text; alert messages, the digest, the comparison
report."""
