"""A small receiver app, as a Thredd client writes one: it processes each
notification once (Thredd delivers at least once, and a redelivery carries
the same notificationId) and answers 200."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    def __init__(self):
        self.processed = {}
        self.duplicates = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                envelope = json.loads(body)
                notification = envelope["context"]["notificationId"]
                if notification in receiver.processed:
                    receiver.duplicates.append(notification)
                else:
                    receiver.processed[notification] = envelope
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
