/* dlen.h: the public API of libdlen, the DLEN training and inference engine. */
#pragma once

#include "dlen-status.h"
#include "dlen-metrics.h"
#include "dlen-model.h"
#include "dlen-synth.h"
#include "dlen-replay.h"

#define DLEN_VERSION_STRING "0.1.0"
