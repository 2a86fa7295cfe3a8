from . import frames as frames
from . import sources as sources
from ._checks import (
    check_audio_stream as check_audio_stream,
)
from ._checks import (
    check_sample_rate as check_sample_rate,
)
from ._checks import (
    check_waveform as check_waveform,
)
from ._codecs import (
    AUDIO_EXTENSIONS as AUDIO_EXTENSIONS,
)
from ._codecs import (
    MEDIA_EXTENSIONS as MEDIA_EXTENSIONS,
)
from ._codecs import (
    VIDEO_EXTENSIONS as VIDEO_EXTENSIONS,
)
from ._decode import (
    BLOCK_BYTES as BLOCK_BYTES,
)
from ._decode import (
    BLOCK_S as BLOCK_S,
)
from ._decode import (
    AudioStream as AudioStream,
)
from ._decode import (
    load_audio as load_audio,
)
from ._decode import (
    resample as resample,
)
from ._decode import (
    stream_audio as stream_audio,
)
from ._levels import (
    LOW_RATE_HZ as LOW_RATE_HZ,
)
from ._levels import (
    MIN_SAMPLES as MIN_SAMPLES,
)
from ._levels import (
    SILENCE_PEAK_DBFS as SILENCE_PEAK_DBFS,
)
from ._levels import (
    SILENCE_RMS_DBFS as SILENCE_RMS_DBFS,
)
from ._levels import (
    audio_level as audio_level,
)
from ._levels import (
    is_silent as is_silent,
)
from ._probe import (
    AV_SYNC_TOLERANCE_S as AV_SYNC_TOLERANCE_S,
)
from ._probe import (
    MediaInfo as MediaInfo,
)
from ._probe import (
    av_mismatch as av_mismatch,
)
from ._probe import (
    length_mismatch as length_mismatch,
)
from ._probe import (
    probe_media as probe_media,
)
