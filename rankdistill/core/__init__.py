"""The core layer, which imports no other layer: located errors (`errors`), atomic writes and
"build beside, rename into place" (`atomic`), cache and data paths (`paths`), provenance
(`provenance`), fingerprints (`fingerprints`), the one YAML -> dataclass loader (`config`),
device / CPU / threads / precision (`hardware`), the one text decoder (`textfile`), the run lock
(`runlock`) and torchrun ranks (`distributed`). Import the module you need."""
