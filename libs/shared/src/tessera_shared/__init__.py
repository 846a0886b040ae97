"""What every Tessera part needs: config, errors, i18n, logging, telemetry, health, serving."""
