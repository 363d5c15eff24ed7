"""The API's resources, a router per module."""
