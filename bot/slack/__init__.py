"""The Slack app: Bolt ``AsyncApp`` served by aiohttp (or Socket Mode), plus the notifier
that lets the window clock post to Slack. Entry point: :func:`bot.slack.app.create_app`.

Kept import-light on purpose: the ``maintbot`` verbs import nothing of it, and only
``serve`` (and a ``worker`` with a bot token, for its notifier) needs Bolt.
"""
