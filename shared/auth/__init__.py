"""Who is calling: passwords, access tokens (EdDSA JWT) and the role check."""
