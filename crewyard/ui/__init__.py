"""The run viewer: `python main.py ui` serves a local, read-only web page over the run store
(the runs list; one run as a timeline of tasks, turns, model calls and tool calls, updated
live while it runs). app.py is the Starlette app, data.py what it shows, static/ the page."""
