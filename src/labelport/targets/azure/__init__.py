"""Azure AutoML (AZURE_AUTOML_CSV): strict CoNLL or CSV training files with their MLTable."""
