# The password grant, for first-party clients that enable it (coffee-pos in the demo)
curl -s http://127.0.0.1:8000/oauth/token \
     -d grant_type=password -d client_id=coffee-pos \
     -d username=barista --data-urlencode "password=$BARISTA_PASSWORD"
