"""Who is at the keyboard: sign-in, quorum unlock and the quorum admin session, shared by every flow."""
