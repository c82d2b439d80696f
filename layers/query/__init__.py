"""The read core every channel shares (REST layers/channels/api/, OGC layers/channels/ogc/,
tiles layers/channels/tiles/, WFS layers/channels/wfs/, map pages layers/channels/maps/); none
of them imports another's package.

- access.py   who may read which layers and which fields (and edit which layers)
- params.py   one strict parser per kind of scalar parameter; ParamError names the parameter;
              bounded JSON documents for request bodies
- times.py    time instants and intervals (a time without a zone is Asia/Shanghai)
- crs.py      the CRSs spoken: URIs, EPSG codes, axis order, precision, area of use
- spatial.py  bbox with its CRS, point + radius, body geometries (2-D, finite, in area of use)
- filters.py  what each typed parameter does to a layer's queryset
- encode.py   GeoJSON pages and features encoded by PostGIS (json_agg / ST_AsGeoJSON)
- mvt.py      vector tiles encoded by PostGIS (ST_AsMVT)
- counting.py how many features match, never costing more than a fraction of the page
- documents.py  documents cached per role class and layer generation; extents from the index
"""
