"""The baseline of the throughput figures: the smallest Flask app, served like the real one.

gunicorn --workers 2 --bind 127.0.0.1:8001 --chdir bench hello:app
"""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "Hello, World!"
