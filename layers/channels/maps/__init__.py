"""Map pages built with folium on vendored, offline front-end assets."""
