"""The encoders layer: model resolution (local folder, the offline catalogue `models.yaml`, hub
id), `EncodingSettings` and the `EncodingModel` a loader returns (`models`), and asymmetric
query/document students (`asymmetric`). Import the module you need."""
