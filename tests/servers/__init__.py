"""Real servers on 127.0.0.1 that the tests start: no mocks, no traffic off loopback."""
