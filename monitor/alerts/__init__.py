"""What is sent: the alert rules and the outbox, delivery channels (mail, webhook), the digest's
day and data."""
