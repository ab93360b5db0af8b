"""Users, login, sessions and API tokens for Flask, with every dangerous default closed."""

from __future__ import annotations

from .database import DatabaseUnavailable
from .extension import Auth, WrongPassword, current_user
from .login import current_scopes, user_summary
from .security import check_csrf, csrf_token, csrf_valid, safe_next
from .settings import AuthOptions, AuthSettings, MailSettings
from .signals import logged_in, logged_out, login_failed
from .store import ApiToken, Store, UserExists
from .users import ModelUsers, User, UserModelMixin, Users

__version__ = "0.1.0"

__all__ = [
    "ApiToken",
    "Auth",
    "AuthOptions",
    "AuthSettings",
    "DatabaseUnavailable",
    "MailSettings",
    "ModelUsers",
    "Store",
    "User",
    "UserExists",
    "UserModelMixin",
    "Users",
    "WrongPassword",
    "check_csrf",
    "csrf_token",
    "csrf_valid",
    "current_scopes",
    "current_user",
    "logged_in",
    "logged_out",
    "login_failed",
    "safe_next",
    "user_summary",
]
