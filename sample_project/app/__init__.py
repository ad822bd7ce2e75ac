"""The sample application: users and their orders."""
