"""Import and export of layer data (issue 11): CRSs, readers, column mapping, upload checks.

A pure API (no request, no job engine): `importer.run_import`, `export.write_export`,
`safety.unpack_upload`. The management commands and the upload page call it; a background job
can call it the same way (it takes a progress callback).
"""
