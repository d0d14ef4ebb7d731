#include "base/err.h"

#include <string.h>

const char *err_str(int err)
{
    return strerror(err < 0 ? -err : err);
}
