"""What reaches the dashboards live: the channel groups, the one sender to them and the websocket
consumers. Below every app that pushes (telemetry, predictor, tickets); imports none of them."""
