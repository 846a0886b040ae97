"""The use cases, one module each; they reach the outside world only through `ports.py`.

Both HTTP surfaces (/v1 and /auth) call these same objects: `SignIn` (password),
`SecondFactorSignIn` (the MFA challenge), `Refresh` (rotation), `Sessions` (the user's sessions,
logout, identity's revocation, token checks); `SessionStarter` is what the first three share.
"""
