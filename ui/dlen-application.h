/* dlen-application.h: the workbench application: command line, startup project, demo, about. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define DLEN_TYPE_APPLICATION (dlen_application_get_type ())
G_DECLARE_FINAL_TYPE (DlenApplication, dlen_application, DLEN, APPLICATION, AdwApplication)

DlenApplication *dlen_application_new (void);

G_END_DECLS
