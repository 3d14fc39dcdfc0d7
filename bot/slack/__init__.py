"""The Slack app: Bolt ``AsyncApp`` served by aiohttp (or Socket Mode), plus the notifier
that lets the window clock post to Slack. Entry point: :func:`bot.slack.app.create_app`.

Kept import-light on purpose: ``maintbot`` loads :mod:`bot.slack.cli` for every verb, and
only ``serve`` needs Bolt.
"""
