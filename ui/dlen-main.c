/* dlen-main.c: main() of dlen-workbench. */
#include "dlen-application.h"

int
main (int argc, char **argv)
{
  g_autoptr (DlenApplication) app = dlen_application_new ();
  return g_application_run (G_APPLICATION (app), argc, argv);
}
