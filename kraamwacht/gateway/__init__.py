"""BLE gateway: finds the wearables, decodes GATT, spools to disk and publishes over MQTT (not built yet)."""
