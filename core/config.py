"""Named constants in one place: timeouts, poll intervals, deadlines, retry budgets, limits.

Nothing user-specific lives here (no keys, no history); environment lookups are functions.
"""

from __future__ import annotations

import os
from pathlib import Path

from core import secrets_file

# --- routers -------------------------------------------------------------------------------------
MULEROUTER = "mulerouter"
APIMART = "apimart"
ROUTERS = (MULEROUTER, APIMART)
ROUTER_LABELS = {MULEROUTER: "MuleRouter", APIMART: "APIMart"}
DEFAULT_BASE_URLS = {MULEROUTER: "https://api.mulerouter.ai", APIMART: "https://api.apimart.ai"}
KEY_ENV_VARS = {MULEROUTER: "MULEROUTER_API_KEY", APIMART: "APIMART_API_KEY"}
BASE_URL_ENV_VARS = {MULEROUTER: "MULEROUTER_BASE_URL", APIMART: "APIMART_BASE_URL"}

# --- documented request limits (see ../shared/api-reference.md §3.2) -----------------------------
PROMPT_MAX_CHARS = 2500
SHOT_PROMPT_MAX_CHARS = 512
DURATION_MIN_S = 3
DURATION_MAX_S = 15
DURATION_DEFAULT_S = 5
SHOTS_MIN = 1
SHOTS_MAX = 6
SHOT_MIN_S = 1
IMAGE_MAX_BYTES = 10 * 1024 * 1024
IMAGE_MIN_SIDE_PX = 300
IMAGE_MIN_ASPECT = 1 / 2.5
IMAGE_MAX_ASPECT = 2.5
IMAGE_FORMATS = ("JPEG", "PNG")
IMAGE_CHECK_CACHE_SIZE = 8  # decoded-image checks kept (validation runs on every rerun; each holds its text)
MAX_REFS_NO_VIDEO = 7  # images + elements without a reference video
MAX_REFS_WITH_VIDEO = 4  # images + elements with a reference video
MAX_ELEMENTS_V3 = 3
ELEMENT_REF_IMAGES_MIN = 1
ELEMENT_REF_IMAGES_MAX = 3
APIMART_ELEMENT_IMAGES_MIN = 2
APIMART_ELEMENT_IMAGES_MAX = 4
APIMART_ELEMENT_NAME_MAX = 20
APIMART_ELEMENT_DESCRIPTION_MAX = 100
APIMART_MAX_ELEMENTS = 3
APIMART_V3_MAX_IMAGE_URLS = 2
ASPECT_RATIOS = ("16:9", "9:16", "1:1")

# --- HTTP ----------------------------------------------------------------------------------------
CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 60.0
WRITE_TIMEOUT_S = 60.0
POOL_TIMEOUT_S = 10.0
POLL_RETRY_BUDGET = 4  # retries of one poll GET after the first try
BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 8.0
RETRY_AFTER_CAP_S = 120.0
SUBMIT_CONNECT_RETRIES = 2  # only failures before the request could reach the router
RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})
MAX_CONCURRENT_POLLS = 16
DOWNLOAD_TIMEOUT_S = 120.0
BACKOFF_JITTER = 0.25  # a retry waits between 75 % and 100 % of the capped exponential delay
ERROR_TEXT_MAX_CHARS = 300  # router error text shown to the user is cut to this length
DOWNLOAD_CHUNK_BYTES = 256 * 1024
CONNECTION_TEST_TASK_IDS = {  # task ids that cannot exist: a 404 for them means the key was accepted
    MULEROUTER: "00000000-0000-0000-0000-000000000000",
    APIMART: "task_00000000000000000000000000",
}

# --- polling schedule (see core/jobs/record.py) ----------------------------------------------------------
POLL_FIRST_DELAY_S = 5.0  # nothing finishes faster than this
POLL_MIN_INTERVAL_S = 1.0
POLL_MAX_INTERVAL_S = 30.0
POLL_NEAR_DONE_INTERVAL_S = 3.0  # interval around the completion the router's progress points at
POLL_TYPICAL_DONE_S = 45.0  # typical earliest completion of a Kling job (api-reference §2.5: 45-90 s)
POLL_DEADLINE_S = 30 * 60.0  # past this a job becomes "stale" (resumable), never "failed"
DUPLICATE_WINDOW_S = 60.0  # an identical request within this window asks for confirmation

# --- storage -------------------------------------------------------------------------------------
DATA_DIR_ENV = "STUDIO_DATA_DIR"
DEFAULT_DATA_DIR = Path.home() / ".kling-prompt-studio"
LEDGER_FILENAME = "ledger.sqlite3"
MEDIA_DIRNAME = "media"
SQLITE_BUSY_TIMEOUT_MS = 10_000
SQLITE_IDLE_CONNECTIONS = 8  # SQLite connections a process keeps open for the next call (core/storage/db.py)

# --- emulator ------------------------------------------------------------------------------------
EMULATOR_COMPLETE_AFTER_S = 10.0
DEMO_KEY = "demo-key-not-secret"


def data_dir() -> Path:
    """Where the ledger and media cache live: $STUDIO_DATA_DIR or ~/.kling-prompt-studio."""
    raw = os.environ.get(DATA_DIR_ENV, "").strip()
    return Path(raw).expanduser() if raw else DEFAULT_DATA_DIR


EMULATOR_COMPLETE_AFTER_ENV = "STUDIO_EMULATOR_COMPLETE_AFTER"


def emulator_complete_after() -> float:
    """Seconds the demo emulator takes per job: $STUDIO_EMULATOR_COMPLETE_AFTER or the default."""
    try:
        return float(os.environ.get(EMULATOR_COMPLETE_AFTER_ENV, "") or EMULATOR_COMPLETE_AFTER_S)
    except ValueError:
        return EMULATOR_COMPLETE_AFTER_S


# --- job schedule and ledger details (core/jobs/record.py, core/storage/job_store.py, core/engine/runner.py)
POLL_TYPICAL_LATE_S = 150.0  # most Kling jobs are done by then ("up to ~150 s at peak"; some take 10 min)
POLL_WINDOW_INTERVAL_S = 3.5  # interval inside the typical window when the router gives no progress
POLL_LEAD_FRACTION = 0.4  # before a window of likely completion, wait this share of the time left
POLL_OVERDUE_GROWTH = 0.01  # past a window of likely completion, the interval grows this many s per s late
POLL_PROGRESS_MIN_PCT = 3  # below this, a progress figure is too coarse to extrapolate an ETA
POLL_ERROR_BACKOFF_BASE_S = 5.0  # a failed poll waits base·2^(n-1) before the next try …
POLL_ERROR_BACKOFF_CAP_S = 120.0  # … capped here
PROMPT_PREVIEW_CHARS = 160
JOB_ID_HEX_CHARS = 12
JOB_LIST_MAX_LIMIT = 500
VIDEO_LINK_TTL_S = 24 * 3600.0  # result links are fetched until they expire (APIMart: expires_at, ~1 day)
DOWNLOAD_MIN_WINDOW_S = 3600.0  # … but for at least this long after the job finished (clock skew)
PRICE_DEFAULT_SECONDS = 5  # billed seconds assumed when a base edit's input length is unknown
POLL_NOT_FOUND_LIMIT = 3  # 404s in a row before a task counts as lost (one may be transient)
SUBMIT_ORPHAN_AFTER_S = 180.0  # a job still "submitting" after this was left behind by a stopped app
REFRESH_MAX_WORKERS = 32  # concurrent polls in one refresh (50 due jobs at 200 ms latency: 2 rounds)

# --- the job engine (core/engine/loop.py) ---------------------------------------------------------------
CHANGE_FEED_EVERY_S = 0.5  # the server's one reader of the ledger's change number looks this often
CHANGE_FEED_KEEP = 512  # batches of changes kept in memory (a tab further behind reruns once)
CHANGES_ROUTE = "/api/changes"  # the live component asks here what changed (core/storage/change_feed.py)
LIVE_ASK_EVERY_S = 1.5  # how often a visible tab asks the server (memory only, no script run)
# the live views still rerun this often by themselves: the last resort for a trigger lost on its way (lost
# answers rerun every listener at the next answer: ui/live.py). At 50 idle tabs, two live views each and
# ~13 ms a run (bench/sessions.py), 60 s costs about 2 % of a core; a lost trigger is seen within a minute
LIVE_FALLBACK_EVERY_S = 60.0
# the live views of all open tabs together use at most this share of a core (change_feed.live_pace_s): the
# more tabs watch running jobs, the further apart each one's reruns, up to LIVE_PACE_MOST_S
LIVE_CPU_SHARE = 0.12
LIVE_PACE_MOST_S = 60.0
LIVE_RUN_CPU_GUESS_S = 0.05  # a live rerun's CPU before any was measured
LIVE_TAB_SEEN_S = 6.0  # a tab that asked this recently counts (a visible tab asks every LIVE_ASK_EVERY_S)
LIVE_TABS_KEPT = 2000  # tab ids remembered at most
# a person's own run (a click, a change in the form) goes first: the change feed holds its answers (the live
# reruns they would start in every tab) while one is going, at most this long (core/storage/change_feed.py)
LIVE_HOLD_MOST_S = 1.0
LIVE_HOLD_POLL_S = 0.02
LIVE_TICK_EVERY_S = 30.0  # while jobs are active, a live view showing elapsed times reruns this often
# "Improve the wording" on the operator's chat model (core/team/chat_quota.py): questions per sliding hour
CHAT_ASKS_PER_PERSON_HOUR = 60
CHAT_ASKS_PER_SERVER_HOUR = 600
CHAT_QUOTA_PEOPLE_KEPT = 1000  # past this, people quiet for an hour are forgotten
ENGINE_TICK_S = 0.2  # how often the engine looks for due work (polls start within this of their time)
ENGINE_LEASE_S = 30.0  # a claimed job is ours this long; renewed while the work goes on
ENGINE_HEARTBEAT_S = 5.0  # renew leases and announce held session keys this often
ENGINE_KEY_HOLD_S = 30.0  # a held-key announcement lasts this long (a dead process's keys lapse)
SESSION_KEY_IDLE_S = 3600.0  # a typed key no job needs any more is forgotten this long after last use
SUBMIT_WAIT_S = 20.0  # ui/session.py submit's default wait for the router's answer (Generate does not wait)
SUBMIT_WAIT_POLL_S = 0.05
# --- a busy router (core/jobs/refusals.py, core/engine/slots.py) ---
BUSY_RETRY_BASE_S = 2.0  # a send refused as busy waits this long, doubling per refusal in a row …
BUSY_RETRY_CAP_S = 60.0  # … up to this (Kling: back off from >= 1 s, api-reference §8)
BUSY_JITTER = 0.25  # a busy wait is shortened by up to this share, so waiting jobs do not return in step
BUSY_LEARN_WAIT_S = 2.0  # a busy refusal is counted once the other sends in hand have their answers (at most)
BUSY_LEARN_POLL_S = 0.01
SLOTS_RELAX_S = 600.0  # a learnt account limit grows by one per this long without a busy refusal
QUOTA_HOLD_S = 600.0  # after a quota / daily-spend refusal an access sends nothing for this long
CONCURRENCY_ENV_VARS = {MULEROUTER: "STUDIO_MULEROUTER_CONCURRENCY", APIMART: "STUDIO_APIMART_CONCURRENCY"}
BILLED_DIFF_SHARE = 0.2  # a billed charge this much off the estimate (and …
BILLED_DIFF_MIN_USD = 0.05  # … more than this) is shown beside it
KLING_UNIT_USD_ENV = "STUDIO_KLING_UNIT_USD"  # USD per Kling unit: turns final_unit_deduction into dollars
# --- callbacks (core/engine/callbacks.py) ---
PUBLIC_URL_ENV = "STUDIO_PUBLIC_URL"  # https address of this app as the routers reach it: callbacks on
WEBHOOK_SECRET_ENV_VARS = {MULEROUTER: "STUDIO_MULEROUTER_WEBHOOK_SECRET"}  # the console's whsec_… secret
CALLBACK_TOKEN_BYTES = 18  # random bytes in a job's callback token
CALLBACK_SIGNATURE_TOLERANCE_S = 300.0  # a signed delivery older (or newer) than this is refused (replay)
CALLBACK_MAX_BYTES = 256 * 1024  # a callback body larger than this is refused unread
CALLBACK_ROUTE_PREFIX = "/api/callbacks"  # the routers post to <public>{this}/<router>[/<job token>]
CALLBACK_SEEN_MAX = 10_000  # callbacks remembered for de-duplication
CALLBACK_LIVE_S = 1800.0  # callbacks seen for a router within this long: its polling slows down …
CALLBACK_POLL_FACTOR = 4.0  # … to the schedule's delay × this,
CALLBACK_POLL_MIN_S = 20.0  # … at least this,
CALLBACK_POLL_MAX_S = 120.0  # … at most this (a lost callback is still found by a poll)
SMOKE_POLL_S = 10.0  # `python -m core smoke` asks for the task's status this often …
SMOKE_TIMEOUT_S = 900.0  # … for at most this long (MuleRouter's CLI gives up after 900 s too, §1.3)
ENGINE_BURST_RETRY_S = 0.2  # no account limit known: a send waits this long while the last burst is answered
ENGINE_GROUP_RETRY_S = 1.0  # a waiting job whose group is at its limit is looked at again after this
ENGINE_DEMO_CHECK_MARGIN_S = 0.5  # a demo job on our own emulator is first checked this long after its end
ENGINE_WORKERS = 8  # jobs worked on at once by one engine (polls and downloads)
ENGINE_STOP_TIMEOUT_S = 5.0
SERVER_START_JOIN_S = 30.0  # a stopping server waits this long for its start thread (core/server.py)
SERVER_GIL_SWITCH_S = 0.001  # the server's thread switch interval (Python: 0.005; core/server.py lifespan)
ENGINE_WRITE_RETRY_S = 0.25  # a send's answer the database did not take is written again after this…
ENGINE_WRITE_RETRY_CAP_S = 5.0  # … doubling up to this, until the database answers (never sent again)
ENGINE_TAKEOVER_MARGIN_S = 1.0  # a download taken from a live engine waits the cap + this for its video
ENGINE_WRITE_KEEP_AFTER_STOP_S = 60.0  # a stopped engine still tries this long to write what it holds
ENGINE_PART_MAX_AGE_S = 120.0  # an unfinished download file untouched this long is removed at start
ENGINE_PROBE_TIMEOUT_S = 0.5  # is an earlier run's emulator still there?
EMULATOR_URL_ENV = "STUDIO_EMULATOR_URL"  # use a running emulator for demo mode instead of starting one

# --- router emulator details (core/emulator/) -----------------------------------------------------
EMULATOR_HOST = "127.0.0.1"
EMULATOR_QUEUE_FRACTION = 0.1  # a task is "pending" for this share of complete_after, then "processing"
EMULATOR_PROGRESS_MIN_PCT = 1  # first progress figure once processing
EMULATOR_PROGRESS_MAX_RUNNING_PCT = 99  # progress never reaches 100 before completion
EMULATOR_START_TIMEOUT_S = 10.0
EMULATOR_STOP_TIMEOUT_S = 5.0
EMULATOR_SERVER_ERROR_STATUS = 503  # default status of a "server_error" fault
EMULATOR_RETRY_AFTER_S = 1.0  # default Retry-After of a "rate_limit" fault
EMULATOR_SLOW_S = 5.0  # default delay of a "slow" fault
EMULATOR_DROP_SETTLE_S = 0.05  # wait after closing a dropped connection so no reply slips out
EMULATOR_RESULT_TTL_S = 24 * 3600  # APIMart result URLs expire after about a day
EMULATOR_USD_PER_S = {"std": 0.0672, "pro": 0.0896, "4k": 0.42856}  # APIMart rate card (api-reference §4)
EMULATOR_USD_PER_S_AUDIO = {"std": 0.084, "pro": 0.112, "4k": 0.42856}
EMULATOR_CREDITS_PER_USD = 100
EMULATOR_CLIP_SIZE_LANDSCAPE = (192, 108)
EMULATOR_CLIP_SIZE_PORTRAIT = (108, 192)
EMULATOR_CLIP_SIZE_SQUARE = (128, 128)
EMULATOR_MAX_UPLOAD_BYTES = IMAGE_MAX_BYTES
EMULATOR_START_POLL_S = 0.005  # how often start_emulator checks that the server accepts connections

# --- prompt authoring (core/authoring/storyboard.py, core/authoring/tokens.py, core/authoring/imagefix.py,
# core/storage/library.py) -------
SPLIT_MIN_SHOT_S = 2  # a shot needs at least this many seconds to be split in two
TRANSLATED_ELEMENT_NAME = "element_{n}"  # APIMart subject name given to MuleRouter element n
TRANSLATED_ELEMENT_DESCRIPTION = "Subject {n}, moved from MuleRouter"  # APIMart needs a description
IMAGE_FIX_PAD_BLUR_RADIUS = 24  # blur of the stretched image used as a padding background
IMAGE_FIX_JPEG_QUALITY_START = 92
IMAGE_FIX_JPEG_QUALITY_MIN = 60
IMAGE_FIX_JPEG_QUALITY_STEP = 8
IMAGE_FIX_DOWNSCALE_STEP = 0.85  # each downscale round keeps this share of each side
IMAGE_FIX_SIZE_MARGIN = 0.98  # aim a little under the byte limit
IMAGE_FIX_THUMBNAIL_PX = 256
URL_PROBE_TIMEOUT_S = 5.0  # an image/video URL check gives up after this
LIBRARY_FILENAME = "library.sqlite3"
PRESETS_FORMAT = "kling-prompt-studio/presets@1"
PRESET_NAME_MAX_CHARS = 120
PRESET_COPY_TRIES = 20  # "<name> (<person>'s copy 2)"…: copy names a save tries before asking for another

# --- results pages (app_pages/jobs.py, gallery.py, settings.py, ui/results/jobs_view.py) -----------
JOBS_PAGE_SIZE = 50  # rows of the Jobs table per page
JOBS_TABLE_PROMPT_CHARS = 80  # prompt start shown in the Jobs table
JOBS_LIVE_EVERY_S = 2.0  # default refresh of the live views while a job is active
GALLERY_PAGE_SIZE = 12  # videos per Gallery page
GALLERY_COLUMNS = 3
DOWNLOAD_SLUG_CHARS = 40  # prompt slug length in a downloaded video's file name
POLL_EVERY_MIN_S = 1.0  # Settings slider bounds for the live refresh
POLL_EVERY_MAX_S = 10.0
POLL_EVERY_STEP_S = 0.5

# --- poll schedule: router hints (core/jobs/record.py next_poll_delay; measured by bench/polling.py) -----
POLL_PROGRESS_SPREAD = 0.5  # a progress ETA may be this × (100 - progress) % too late …
#   … so dense polls start that much before it
POLL_ESTIMATE_MARGIN = 0.3  # estimated_time ± this share widens the typical window (never narrows it)

# --- media by URL (core/storage/media_route.py, ui/media_links.py) ------------------------------------------
MEDIA_ROUTE_PREFIX = "/api/media"  # Streamlit reserves /media/, so ours lives under /api/
MEDIA_CACHE_CONTROL = "public, max-age=31536000, immutable"  # names are content hashes: never change
MEDIA_CONTENT_TYPES = {
    "mp4": "video/mp4",
    "webm": "video/webm",
    "mov": "video/quicktime",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
}
MEDIA_DOWNLOAD_NAME_MAX_CHARS = 150  # a download's file name (Content-Disposition) is cut to this
MEDIA_LINK_FALLBACK_HOST = "localhost"  # when the browser's URL is unknown (AppTest, first run)

# --- robustness (issue 7 §5): library import caps, Library page size, image pixel limit -------------
PRESETS_IMPORT_MAX_BYTES = 5 * 1024 * 1024  # a presets file bigger than this is refused unread
PRESETS_IMPORT_MAX_ENTRIES = 1_000  # presets in one import file
PRESETS_IMPORT_MAX_DEPTH = 32  # nesting of objects/lists in a presets file (an export is about 7 deep)
LIBRARY_PAGE_SIZE = 20  # saved prompts listed per Library page
IMAGE_FIX_MAX_PIXELS = 40_000_000  # above this, no automatic fix previews; fixes run only on click

# --- bounded fetching (core/net/fetch.py; design rule 12) ----------------------------------------------
VIDEO_MAX_DOWNLOAD_BYTES_ENV = "STUDIO_VIDEO_MAX_BYTES"
VIDEO_DOWNLOAD_DEADLINE_ENV = "STUDIO_VIDEO_DOWNLOAD_DEADLINE_S"
VIDEO_MAX_DOWNLOAD_BYTES_DEFAULT = 2 * 1024 * 1024 * 1024  # a finished video larger than this is refused
VIDEO_DOWNLOAD_DEADLINE_S_DEFAULT = 30 * 60.0  # a whole video download (all redirects) ends by then
URL_PROBE_MAX_BYTES = 1024 * 1024  # a URL check reads at most this much of the body
FETCH_MAX_REDIRECTS = 5  # each hop is checked again (scheme, address, allow-list)
FETCH_SNIFF_BYTES = 16  # first bytes needed to tell a video by its magic bytes
FETCH_ERROR_BODY_BYTES = 64 * 1024  # of a non-2xx reply, kept for the error details


def _positive_env(name: str, default: float) -> float:
    """A positive number from the environment; the default when unset or unreadable."""
    try:
        value = float(os.environ.get(name, "") or default)
    except ValueError:
        return default
    return value if value > 0 else default


# Read once at start (the app is restarted to change them).
VIDEO_MAX_DOWNLOAD_BYTES = int(_positive_env(VIDEO_MAX_DOWNLOAD_BYTES_ENV, VIDEO_MAX_DOWNLOAD_BYTES_DEFAULT))
VIDEO_DOWNLOAD_DEADLINE_S = _positive_env(VIDEO_DOWNLOAD_DEADLINE_ENV, VIDEO_DOWNLOAD_DEADLINE_S_DEFAULT)

# --- request rules: problems vs cautions (core/authoring/rules.py) ------------------------------------------
IMAGE_MAX_BYTES_DECIMAL = 10_000_000  # "10MB" read as decimal: the kling-v3 i2v page's own limit

# --- engine lease from the environment (tests and benchmarks shorten it; core/server.py) -----------
ENGINE_LEASE_ENV = "STUDIO_ENGINE_LEASE_S"


def engine_lease_s() -> float:
    """How long a claimed job stays an engine's: $STUDIO_ENGINE_LEASE_S (> 0) or ENGINE_LEASE_S."""
    try:
        value = float(os.environ.get(ENGINE_LEASE_ENV, "") or ENGINE_LEASE_S)
    except ValueError:
        return ENGINE_LEASE_S
    return value if value > 0 else ENGINE_LEASE_S

# --- drafts and "Mine" (issue 9 items 4, 5): the browser id cookie, drafts kept in the ledger ---------
BROWSER_COOKIE = "studio_browser"  # set by the server (core/server.py) on any response lacking it
BROWSER_ID_BYTES = 16  # random bytes of a browser id (URL-safe Base64, 22 characters)
BROWSER_COOKIE_MAX_AGE_S = 400 * 24 * 3600  # the longest a browser keeps a cookie (Chromium caps at 400 days)
DRAFT_KEEP_S = 90 * 24 * 3600.0  # a draft nobody touched for this long is removed on the next save
DRAFT_MAX_BYTES = 2 * 1024 * 1024  # a draft larger than this (after images go to the media cache) is not kept


# --- uploads bigger than the routers take (issue 9 item 7) ---------------------------------------------
# The file uploaders accept pictures up to this size (MB) so that the app can say "too large" at the field
# and offer "Make it smaller"; the routers' own limit stays IMAGE_MAX_BYTES. Keep .streamlit/config.toml's
# server.maxUploadSize at least this big.
UPLOAD_ACCEPT_MAX_MB = 50

# --- video upload (issue 9 item 6): a local source video made reachable by the router --------------
VIDEO_UPLOAD_MAX_BYTES = 50 * 1024 * 1024  # a larger video file is refused (the routers take ≤ 200 MB)
VIDEO_UPLOAD_TYPES = ("mp4", "mov")  # what the file picker offers (checked again by magic bytes)
VIDEO_UPLOAD_TIMEOUT_S = 120.0  # one upload of a video file to where the router can fetch it
EMULATOR_VIDEO_UPLOAD_PATH = "/_emulator/uploads/videos"  # POST multipart `file` → {"url": …}

# --- camera control and motion brush (issue 8 §3; core/authoring/camera.py, api-reference §7) ---------------
CAMERA_AMOUNT_MAX = 10.0  # Kling: each camera axis is a float in [-10, 10]
CAMERA_AMOUNT_STEP = 0.5  # the form's slider step
MOVING_BRUSHES_MAX = 6  # Kling: dynamic_masks holds up to 6 groups
TRAJECTORY_POINTS_MIN = 2  # Kling: a trajectory has 2 to 77 points (stated for a 5-second video)
TRAJECTORY_POINTS_MAX = 77
MASK_PAINTED_MIN_LEVEL = 128  # a mask pixel this light (0–255 grey) or lighter is painted
BRUSH_TINT_ALPHA = 110  # how strongly a brush's area is tinted over the frame (0–255)
BRUSH_STATIC_COLOUR = (40, 120, 255)  # the static brush's tint (blue)
BRUSH_COLOURS = ((255, 80, 40), (60, 200, 80), (250, 200, 20), (200, 60, 220), (20, 200, 220), (255, 140, 0))
BRUSH_BLANK_CANVAS = (40, 40, 40)  # the canvas when the first frame is a link (not fetched)
BRUSH_LINE_FRACTION = 150  # path line width = the longer side / this
BRUSH_PREVIEW_MAX_SIDE_PX = 640  # the overlay shown in the form
BRUSH_OVERLAY_CACHE_SIZE = 8  # overlays kept (the form reruns on every click)
BRUSH_EDIT_MAX_POINTS = 20_000  # points of one drawing the page may send (strokes and paths together)
BRUSH_PAINT_MAX_SIDE_PX = 1280  # painted strokes are drawn at most this big, then scaled up to the frame
BRUSH_MASK_CACHE_SIZE = 16  # masks built from painted strokes kept (one per brush, the form reruns often)
BRUSH_PREVIEW_CACHE_SIZE = 16  # small copies of the first frame and masks kept for the drawing canvas
BRUSH_BACKGROUND_MAX_SIDE_PX = 960  # the first frame's copy on the drawing canvas (points: full size)
BRUSH_MASK_PREVIEW_MAX_SIDE_PX = 480  # a given mask image as the drawing canvas tints it
BRUSH_BACKGROUND_QUALITY = 82  # JPEG quality of that copy

# --- Compare: prompt experiments as a grid (core/compare/experiments.py, app_pages/compare.py; issue 10) ----
EXPERIMENT_MAX_AXES = 3  # prompt wordings, endpoint choices, model/router
EXPERIMENT_MIN_WORDINGS = 2  # a wording axis holds 2–6 edited copies of the prompt
EXPERIMENT_MAX_WORDINGS = 6
EXPERIMENT_MAX_VALUES = 6  # values on any other axis
EXPERIMENT_MIN_TAKES = 1  # takes per cell (the spread of one setting)
EXPERIMENT_MAX_TAKES = 4
EXPERIMENT_MAX_VIDEOS = 96  # one experiment never sends more videos than this (6 × 4 × 4 takes)
EXPERIMENT_GROUP_LIMIT_DEFAULT = 2  # Settings: at most this many of an experiment's jobs in flight per router
EXPERIMENT_GROUP_LIMIT_MAX = 8
EXPERIMENT_LIST_LIMIT = 50  # experiments listed on the Compare page
EXPERIMENT_TITLE_MAX_CHARS = 80
EXPERIMENT_ID_HEX_CHARS = 10
MEDIA_CONTENT_TYPES["zip"] = "application/zip"  # Compare's review packs are served by the media route too

# --- Create pages: the Generate click guard, words and layout (issue 9, items 3, 14, 16) --------------
GENERATE_CLICK_BURST_S = 1.5  # clicks of the same button closer than this are one click (a double-click)
GENERATE_REQUEST_TTL_S = 30.0  # a Generate click not yet handled after this long is dropped, not sent
NARROW_JOBS_MAX_PX = 640  # below this width the Jobs page shows cards instead of the table

# --- Shared database: PostgreSQL ledger (core/storage/db.py, core/storage/ledger.py; issue 11) --------------
# postgresql://user:pass@host:port/db; unset: SQLite in the data dir
DATABASE_URL_ENV = "STUDIO_DATABASE_URL"
SECRETS_FILE_ENV = secrets_file.SECRETS_FILE_ENV  # one secrets file instead of .streamlit/ ones
DATABASE_SECRETS_SECTION = ("connections", "studio")  # [connections.studio] url = "…" (Streamlit)
PG_POOL_MIN = 1  # connections a server keeps open to PostgreSQL
PG_POOL_MAX = 10  # at most this many per server process (engine + sessions)
PG_CONNECT_TIMEOUT_S = 10.0  # opening the pool / one connection
PG_POOL_TIMEOUT_S = 30.0  # waiting for a free connection of the pool
DB_OUTAGE_RETRY_S = 3.0  # a page whose database stopped answering looks again this often


def database_url() -> str | None:
    """The shared database's URL: $STUDIO_DATABASE_URL, else `[connections.studio] url` in the secrets file
    ($STUDIO_SECRETS_FILE, else where Streamlit looks); None: the embedded SQLite ledger."""
    env = os.environ.get(DATABASE_URL_ENV, "").strip()
    if env:
        return env
    return secrets_file.secrets_value(*DATABASE_SECRETS_SECTION, "url") or None



# --- S3-compatible media store (core/storage/media_store.py; issue 11, part s3) -----------------------------
MEDIA_URL_ENV = "STUDIO_MEDIA_URL"  # "s3://bucket/prefix": media in that bucket; unset: the local folder
MEDIA_SECRETS_TABLE = "media"  # or `[media] url = "s3://…"` in .streamlit/secrets.toml
MEDIA_PUBLIC_ENDPOINT_ENV = "STUDIO_MEDIA_PUBLIC_ENDPOINT"  # the endpoint browsers reach (signs the URLs)
MEDIA_S3_LOCAL_DIRNAME = "media-s3"  # under the data dir: downloads in progress (.part-…) before upload
MEDIA_S3_CACHE_DIRNAME = "cache"  # … and, inside it, local copies of objects (grid video, review pack)
MEDIA_S3_LOCAL_CACHE_MAX_BYTES = 2 * 1024 ** 3  # local copies beyond this are removed, oldest used first
MEDIA_S3_MULTIPART_THRESHOLD_BYTES = 8 * 1024 * 1024  # bigger files go up in parts …
MEDIA_S3_MULTIPART_CHUNK_BYTES = 8 * 1024 * 1024  # … of this size
MEDIA_S3_CONNECT_TIMEOUT_S = 10.0
MEDIA_S3_READ_TIMEOUT_S = 60.0
MEDIA_S3_RETRIES = 3  # boto3's "standard" retry mode, attempts in all
MEDIA_LINK_TTL_S = 30 * 60  # a presigned link for a browser (playback, download) works this long …
MEDIA_LINK_REUSE_S = 10 * 60  # … and the same link is handed out again for this long (a player is not
#   reloaded on every rerun), so a link handed out has at least TTL - REUSE left
MEDIA_LINK_CACHE_SIZE = 4096  # links kept for reuse per process
MEDIA_KNOWN_NAMES_MAX = 100_000  # object names known to exist (content never changes): no HEAD per rerun
VIDEO_UPLOAD_LINK_TTL_S = 6 * 3600  # the link a router gets to fetch an uploaded video (video to video)


def _secrets_table_value(table: str, key: str) -> str:
    """`[table] key` in the operator's secrets (core.secrets_file), or ""."""
    return secrets_file.secrets_value(table, key)


def media_url() -> str | None:
    """Where media lives: $STUDIO_MEDIA_URL, else `[media] url` in secrets.toml ("s3://bucket/prefix");
    None: the local folder in the data directory."""
    raw = os.environ.get(MEDIA_URL_ENV, "").strip() or _secrets_table_value(MEDIA_SECRETS_TABLE, "url")
    return raw or None


def media_public_endpoint() -> str | None:
    """The S3 endpoint as browsers (and routers) reach it, when it differs from the servers' own:
    $STUDIO_MEDIA_PUBLIC_ENDPOINT, else `[media] public_endpoint` in secrets.toml; None: the same."""
    raw = (os.environ.get(MEDIA_PUBLIC_ENDPOINT_ENV, "").strip()
           or _secrets_table_value(MEDIA_SECRETS_TABLE, "public_endpoint"))
    return raw.rstrip("/") or None



# --- who made what, and budgets (issue 11 §3; core/team/identity.py, core/team/budget.py) -------------------
TRUSTED_HEADER_ENV = "STUDIO_TRUSTED_HEADER"  # a proxy's header naming the person; honoured only when set
TRUSTED_PROXIES_ENV = "STUDIO_TRUSTED_PROXIES"  # the addresses/networks that header is honoured from
TRUSTED_PROXIES_DEFAULT = ("127.0.0.0/8", "::1")  # this machine only (a proxy on the same host)
IDENTITY_MAX_CHARS = 254  # a longer e-mail / user id is refused (never truncated: ids must not collide)
IDENTITY_NAME_MAX_CHARS = 80  # a display name is cut to this
BUDGET_DEFAULT_TIMEZONE = "UTC"  # the budget's day starts at midnight here unless [budget] timezone says
BUDGET_SPEND_TABLE_MAX = 200  # people listed in the admins' spend table


# --- python -m core migrate-media (core/storage/migrate.py; issue 11, part library + migrate) ---------------
MIGRATE_BATCH_ROWS = 500  # rows copied per transaction (a run stopped half-way keeps whole batches)
MIGRATE_BAR_WIDTH = 30  # characters of the progress bar
MIGRATE_BAR_EVERY_S = 0.1  # the bar is redrawn at most this often (and at the end)


# --- several servers: demo jobs of a stopped server (core/engine/loop.py adopt_orphaned_demo_jobs) ----------
ENGINE_ADOPT_EVERY_S = 30.0  # look this often for demo jobs whose server (and its emulator) stopped


# --- drafts and experiments follow the person (issue 11, part own; core/storage/drafts.py,
# core/compare/experiments.py) ----
DRAFT_PERSON_KEY_HEX_CHARS = 40  # hex characters of a signed-in person's draft key (a SHA-256 of their id)


# --- the take in place on the Create page (issue 16 §1; core/jobs/eta.py, ui/create/take.py) --------------
TAKE_ETA_SAMPLE = 20  # the time left rests on at most this many of the endpoint's newest finished jobs
TAKE_ETA_MIN_JOBS = 1  # fewer finished jobs than this: no estimate, only the elapsed time
TAKE_ASK_EVERY_S = 0.25  # while a take is being made, its tab asks the change feed this often (ui/live.py)
TAKE_TICK_EVERY_S = 5.0  # and its card's clock (elapsed, time left) moves by itself this often
TAKE_STRIP_COUNT = 6  # recent takes of the page shown under the card
TAKE_THUMB_MAX_PX = 240  # the first-frame thumbnails' longer side
TAKE_HISTORY_SCAN = 60  # finished jobs of an endpoint read (newest first) to find the sample
TAKE_LINK_WAIT_S = 900.0  # a take of a preset is linked once the router accepted it; still unanswered after
# this long (a busy router holding it back, never refused), it is linked as a job that is going to be sent
TAKE_LINK_FIRST_LOOK_S = 0.1  # the linking thread looks at the job this soon, then 1.5× later each time …
TAKE_LINK_LAST_LOOK_S = 5.0  # … up to this
# --- checks of a delivered video against its request (issue 18 §2; core/jobs/video_checks.py, video_probe.py)
CHECK_VERSION = 1  # bumped when what is measured changes (a stored check of an older version can be redone)
CHECK_MAX_WALL_S = 30.0  # a check stops looking after this long (the result says how much it saw)
CHECK_MAX_VIDEO_S = 120.0  # at most this much of a video is looked at (uploads can be long)
CHECK_ANALYSIS_WIDTH = 160  # frames are looked at this wide (downscaled by FFmpeg while decoding)
CHECK_SHARPNESS_WIDTH = 480  # sharpness is measured on frames this wide (or the video's own, if smaller)
CHECK_SHARPNESS_EVERY_S = 1.0  # one frame per this many seconds for sharpness
CHECK_DECODE_THREADS = 2  # FFmpeg decoding threads (the machine is shared)
CHECK_DURATION_TOLERANCE_S = 0.5  # a video this close to the asked length matches it
CHECK_DURATION_TOLERANCE_FRACTION = 0.05  # … or this share of it, whichever is larger
CHECK_ASPECT_TOLERANCE = 0.03  # relative difference of width/height still taken as the asked ratio
CHECK_SIZE_TOLERANCE = 0.03  # relative difference of the short side still taken as the asked 720p/1080p
CHECK_QUALITY_SHORT_SIDE = {"std": 720, "pro": 1080, "4k": 2160}  # the request's `mode` → short side
CHECK_SILENT_DBFS = -60.0  # an audio track whose loudest sample is quieter than this is silence
CHECK_AUDIO_MAX_S = 120.0  # at most this much sound is decoded
# a shot cut: the picture changes by at least CHECK_CUT_MIN of full scale (0–1; PySceneDetect's
# AdaptiveDetector uses min_content_val 15 of 255) …
CHECK_CUT_MIN = 0.06
CHECK_CUT_RATIO = 3.0  # … and by this many times more than the changes around it (fast motion is not a cut)
CHECK_CUT_WINDOW = 4  # frames on each side that make "the changes around it"
CHECK_CUT_TIMING_TOLERANCE_S = 1.0  # a cut this far from where the storyboard puts it is reported
CHECK_FLASH_S = 0.5  # a picture back to what it was this long after a big change was a flash, not a cut
CHECK_THUMB_STEP = 8  # every 8th pixel of each analysis frame is kept to tell flashes (20×12 at 16:9)
CHECK_CUT_MIN_SHOT_S = 0.4  # two cuts closer than this are one (a flash, a dissolve)
CHECK_FROZEN_PIXEL_STEP = 8.0  # a pixel changing by more than this (0–255) between frames has moved …
CHECK_FROZEN_SHARE = 0.001  # … and frames where fewer than this share of pixels moved are the same picture
CHECK_FROZEN_MIN_S = 1.0  # a picture standing still this long is reported
CHECK_BLACK_LUMA = 24  # a pixel darker than this (0–255) is black …
CHECK_BLACK_SHARE = 0.98  # … and a frame with this share of black pixels is a black frame
CHECK_BLACK_MIN_S = 0.4  # black frames lasting this long are reported
CHECK_FLICKER_STEP = 2.0  # brightness steps (0–255) at least this big, up then down, are flicker …
CHECK_FLICKER_PER_S = 2.0  # … reported when they happen this often per second
CHECK_MOTION_LEVELS = ((1.0, "little motion"), (6.0, "some motion"))  # %/s of change below → word; else:
CHECK_MOTION_HIGH = "lots of motion"
CHECK_SOFT_BELOW = 40.0  # sharpness (variance of the Laplacian at CHECK_SHARPNESS_WIDTH) below this: soft
# the emulator's videos made to match a request (core/emulator/request_clips.py)
EMULATOR_MADE_CLIPS_DIRNAME = "kling-studio-emulator-clips"  # in the temp folder
EMULATOR_MADE_CLIPS_MAX = 200  # files kept there (the oldest go first)
EMULATOR_MADE_CLIP_FPS = 4  # when the committed clip does not say
EMULATOR_MADE_CLIP_CRF = 35
EMULATOR_MADE_CLIP_AUDIO_RATE = 22050
EMULATOR_MADE_CLIP_TONE_LEVEL = 0.1  # the tone's loudness (full scale 1): about -20 dBFS
# --- "Improve the wording": the operator's chat model (issue 17; core/net/llm.py, authoring/improve.py) ---
LLM_BASE_URL_ENV = "STUDIO_LLM_BASE_URL"  # as in OpenAI's clients: "https://host/v1"; the app posts to
LLM_API_KEY_ENV = "STUDIO_LLM_API_KEY"  # {base}/chat/completions with this key (only there)
LLM_MODEL_ENV = "STUDIO_LLM_MODEL"
LLM_SECRETS_TABLE = "llm"  # or `[llm] base_url, api_key, model` in the secrets (when the env sets no URL)
LLM_DEADLINE_ENV = "STUDIO_LLM_DEADLINE_S"  # a slow local model may need longer (read once at start)
LLM_DEADLINE_S = _positive_env(LLM_DEADLINE_ENV, 60.0)  # the whole exchange with the model, answer included
LLM_MAX_REPLY_BYTES = 256 * 1024  # a bigger answer is refused unread: a prompt is a few KB
LLM_MAX_TOKENS = 2048  # asked of the model: enough for a 2500-character prompt and six shots
LLM_TEMPERATURE = 0.2
LLM_CONCURRENT_REQUESTS = 4  # questions to the chat model at once, per server process; more wait their turn
LLM_DEMO_MODEL = "emulator-rewrite"  # the model name sent to the built-in emulator in demo mode
LLM_DEMO_PATH = "/v1"  # the emulator's OpenAI-style base is its URL + this
# --- judging the takes: blind votes, rankings, guest review links (issue 18; core/compare/votes.py,
# ranking.py, guests.py) ----
WORDING_LABEL_MAX_CHARS = 36  # a wording's short label (the words that set it apart), cut to this
VOTE_CRITERIA_DEFAULT = ("Closer to the prompt", "Better motion", "Better look")
VOTE_CRITERION_MAX_CHARS = 60
VOTE_MAX_CRITERIA = 6
VOTE_MIN_SHOWN, VOTE_MAX_SHOWN = 2, 4  # takes on one ballot
GRID_VIDEO_TIMEOUT_S = 300.0  # the grid MP4 child process is stopped after this (core/compare/grid_video)
RANK_ALPHA = 0.05  # Bradley–Terry regularisation (choix pseudo-counts): finite strengths for 3–0
RANK_BOOTSTRAP_ROUNDS = 100  # refits on resampled votes for the interval (bench/ranking.py)
RANK_BOOTSTRAP_TOL = 1e-5  # a refit stops here (L1 change of the strengths): an interval needs no more
RANK_LEVEL = 0.9  # the interval's coverage (5th–95th percentile)
RANK_PRIOR_VAR = 1.0  # uncertainty (log-strength²) of an item with no votes, for choosing the next pairs
RANK_NEXT_PAIRS = 3  # pairs suggested to vote on next
GUEST_TOKEN_BYTES = 32  # secrets.token_urlsafe(32): 43 characters, 256 bits
GUEST_TOKEN_MIN_CHARS, GUEST_TOKEN_MAX_CHARS = 40, 64  # anything else is refused before any lookup
GUEST_LINK_DAYS_DEFAULT = 7
GUEST_LINK_DAYS_MAX = 90
GUEST_NAME_MAX_CHARS = 40
GUEST_VOTES_PER_LINK_MAX = 5000  # vote rows (pairs) all guests of one link may cast: a stuffed link stops
COMMENT_MAX_CHARS = 500
COMMENTS_PER_VIDEO_MAX = 200  # comments kept per video (the oldest are shown first; more are refused)
